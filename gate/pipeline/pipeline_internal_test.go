package pipeline

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate"
	"github.com/secgate/secgate/gate/ci"
	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/policy"
)

// A panic outside the scanners becomes an error report, never a process
// killed with no report, and the panic's text is redacted like any other
// (issue 27's mutation check: removing the recover fails this test).
func TestRunRecoveredPanic(t *testing.T) {
	tok := secretstest.GitHubPAT(t)
	rep, err := runRecovered(context.Background(), gate.Config{}, func(context.Context, gate.Config) (report.Report, error) {
		panic("index out of range near " + tok)
	})
	if err == nil || !strings.Contains(err.Error(), "internal error") {
		t.Fatalf("error %v, want an internal error", err)
	}
	if rep.Verdict != policy.VerdictError || rep.DeployAllowed || len(rep.Errors) != 1 {
		t.Errorf("report verdict %s deploy %v errors %q", rep.Verdict, rep.DeployAllowed, rep.Errors)
	}
	if strings.Contains(rep.Errors[0], tok[4:]) {
		t.Errorf("the report's error holds the token: %q", rep.Errors[0])
	}
}

// In the Docker action the container has the token input, not GITHUB_TOKEN:
// pushing a signature to ghcr.io logs in with it.
func TestRegistryAccessInTheAction(t *testing.T) {
	lookup := func(env map[string]string) ci.Getenv {
		return func(k string) string { return env[k] }
	}
	creds := RegistryCredentials(lookup(map[string]string{"GITHUB_ACTIONS": "true", "INPUT_TOKEN": "ghs_x", "GITHUB_ACTOR": "octo"}))
	if len(creds) != 1 || creds[0].Host != "ghcr.io" || creds[0].Username != "octo" || creds[0].Password != "ghs_x" {
		t.Fatalf("creds %+v", creds)
	}
	if creds := RegistryCredentials(lookup(map[string]string{"INPUT_TOKEN": "ghs_x"})); len(creds) != 0 {
		t.Fatalf("outside GitHub Actions an INPUT_TOKEN is nobody's: %+v", creds)
	}
}

// What feat's branches read in cmd/secgate reaches the gate's Config
// through prepare: --verify-secrets and the run's dry run (issue 28: the
// policy's secrets.verify only outside dry runs), SECGATE_CACHE_KEY and
// whether the run is in CI (issue 30: no cache in CI without the key).
func TestPrepareConfig(t *testing.T) {
	type seen struct {
		DryRun, InCI, VerifySecrets bool
		CacheSecret                 string
	}
	for _, tc := range []struct {
		name   string
		env    map[string]string
		verify bool
		want   seen
	}{
		{"CI with a cache key", map[string]string{"CI": "true", "SECGATE_CACHE_KEY": "k1"}, true, seen{InCI: true, VerifySecrets: true, CacheSecret: "k1"}},
		{"local", map[string]string{}, false, seen{DryRun: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Path: t.TempDir(), Format: "json", CacheMax: "500MB", VerifySecrets: tc.verify}
			env := func(k string) string { return tc.env[k] }
			s := newState(nil, o, env, IO{Stdout: io.Discard, Stderr: io.Discard})
			s.prepare(context.Background())
			c := s.Config
			if got := (seen{c.DryRun, c.InCI, c.VerifySecrets, c.CacheSecret}); got != tc.want {
				t.Errorf("Config %+v, want %+v", got, tc.want)
			}
		})
	}
}
