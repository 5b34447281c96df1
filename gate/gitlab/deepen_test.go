package gitlab

import (
	"testing"

	"github.com/secgate/secgate/gate/repo"
)

func TestDeepenOptions(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, c := range []struct {
		name string
		vars map[string]string
		want repo.DeepenOptions
	}{
		{"CI_REPOSITORY_URL's userinfo", map[string]string{"CI_REPOSITORY_URL": "https://gitlab-ci-token:tok1@gitlab.example.com/g/p.git", "CI_JOB_TOKEN": "tok2"},
			repo.DeepenOptions{Base: "b", Head: "h", Username: "gitlab-ci-token", Password: "tok1", URL: "https://gitlab.example.com/g/p.git"}},
		{"CI_JOB_TOKEN", map[string]string{"CI_REPOSITORY_URL": "https://gitlab.example.com/g/p.git", "CI_JOB_TOKEN": "tok2"},
			repo.DeepenOptions{Base: "b", Head: "h", Username: "gitlab-ci-token", Password: "tok2", URL: "https://gitlab.example.com/g/p.git"}},
		{"nothing", map[string]string{}, repo.DeepenOptions{Base: "b", Head: "h"}},
	} {
		if got := DeepenOptions(env(c.vars), "b", "h"); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestPushRange(t *testing.T) {
	sha, zero := "1111111111111111111111111111111111111111", "0000000000000000000000000000000000000000"
	for _, c := range []struct {
		vars   map[string]string
		before string
	}{
		{map[string]string{"CI_COMMIT_BEFORE_SHA": sha, "CI_COMMIT_SHA": "h"}, sha},
		{map[string]string{"CI_COMMIT_BEFORE_SHA": zero, "CI_COMMIT_SHA": "h"}, ""},
		{map[string]string{"CI_COMMIT_BEFORE_SHA": sha, "CI_COMMIT_SHA": "h", "CI_MERGE_REQUEST_IID": "3"}, ""},
		{map[string]string{"CI_COMMIT_BEFORE_SHA": sha, "CI_COMMIT_SHA": "h", "CI_COMMIT_TAG": "v1"}, ""},
		{map[string]string{"CI_COMMIT_BEFORE_SHA": sha, "CI_COMMIT_SHA": "h", "CI_PIPELINE_SOURCE": "schedule"}, ""},
	} {
		before, after := PushRange(func(k string) string { return c.vars[k] })
		if before != c.before || (before != "" && after != "h") {
			t.Errorf("%v: %q..%q, want %q..h", c.vars, before, after, c.before)
		}
	}
}
