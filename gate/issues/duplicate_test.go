package issues

import (
	"context"
	"testing"
)

// Two issues of one group (one filed by hand, or by an older run): the
// open one is the group's, whichever the tracker lists first; the closed
// one is neither reopened nor duplicated (issue 27's mutation check: "the
// first one wins" fails this test).
func TestDuplicateGroupOpenOneWins(t *testing.T) {
	ctx := context.Background()
	tr := &memTracker{}
	r := rep(secret("deploy.sh"))
	if _, err := File(ctx, tr, r, Options{}); err != nil || len(tr.issues) != 1 {
		t.Fatalf("%v, %d issues", err, len(tr.issues))
	}
	// The same group filed again, and the first copy closed.
	dup := tr.issues[0]
	dup.Number, dup.URL = 2, "https://tracker.example/issues/2"
	tr.issues = append(tr.issues, dup)
	tr.issues[0].Open = false
	es, err := File(ctx, tr, r, Options{})
	if err != nil || len(es) != 1 || es[0].URL != "https://tracker.example/issues/2" || es[0].State != StateUnchanged {
		t.Errorf("%v %+v: want the open issue 2, unchanged", err, es)
	}
	if tr.issues[0].Open || len(tr.issues) != 2 {
		t.Errorf("the closed copy was reopened, or another filed: %+v", tr.issues)
	}
}
