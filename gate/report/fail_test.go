package report

import (
	"errors"
	"testing"

	"github.com/secgate/secgate/policy"
)

// Fail is the one rule by which a step's failure fails the gate.
func TestFail(t *testing.T) {
	r := New()
	r.Verdict, r.DeployAllowed = policy.VerdictPass, true
	r.Fail(errors.New("writing report x.json: disk full"))
	if r.Verdict != policy.VerdictError || r.DeployAllowed || len(r.Errors) != 1 || r.Errors[0] != "writing report x.json: disk full" || r.ExitCode() != 2 {
		t.Errorf("after Fail: verdict %s deploy %v errors %q exit %d", r.Verdict, r.DeployAllowed, r.Errors, r.ExitCode())
	}
}
