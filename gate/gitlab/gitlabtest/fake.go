// Package gitlabtest is an httptest fake of the GitLab REST API's issue
// endpoints, for the tests of the GitLab surface and of the component.
package gitlabtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// FakeAPI answers for project 42 (acme/shop) at /api/v4, with the
// response shapes of the API documentation: issues with iid, web_url,
// state (opened, closed), labels as strings, description; X-Next-Page
// pagination; state_event on edit; notes. It asserts the PRIVATE-TOKEN
// header on every request, and fails on demand.
type FakeAPI struct {
	t        *testing.T
	Token    string
	PerPage  int
	mu       sync.Mutex
	Issues   []map[string]any
	Notes    []map[string]any
	Requests []string
	Faults   map[string][]int // method+path prefix → next statuses
	Srv      *httptest.Server
}

// New starts a fake.
func New(t *testing.T) *FakeAPI {
	f := &FakeAPI{t: t, Token: "glpat-fakefakefakefakefake", PerPage: 2, Faults: map[string][]int{}}
	f.Srv = httptest.NewServer(f)
	t.Cleanup(f.Srv.Close)
	return f
}

// URL is the API's base, as CI_API_V4_URL gives it.
func (f *FakeAPI) URL() string { return f.Srv.URL + "/api/v4" }

var (
	issuesPath = regexp.MustCompile(`^/api/v4/projects/42/issues$`)
	issuePath  = regexp.MustCompile(`^/api/v4/projects/42/issues/(\d+)$`)
	notesPath  = regexp.MustCompile(`^/api/v4/projects/42/issues/(\d+)/notes$`)
)

func (f *FakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Requests = append(f.Requests, r.Method+" "+r.URL.Path)
	if r.Header.Get("PRIVATE-TOKEN") != f.Token {
		f.t.Errorf("%s %s: PRIVATE-TOKEN %q", r.Method, r.URL.Path, r.Header.Get("PRIVATE-TOKEN"))
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"401 Unauthorized"}`))
		return
	}
	for prefix, codes := range f.Faults {
		if len(codes) > 0 && strings.HasPrefix(r.Method+" "+r.URL.Path, prefix) {
			f.Faults[prefix] = codes[1:]
			if codes[0] == http.StatusTooManyRequests {
				w.Header().Set("RateLimit-Reset", "0")
				w.Header().Set("Retry-After", "0")
			}
			w.WriteHeader(codes[0])
			_, _ = w.Write([]byte(`{"message":"fault"}`))
			return
		}
	}
	var in map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			f.t.Errorf("%s %s: body: %v", r.Method, r.URL.Path, err)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && issuesPath.MatchString(r.URL.Path):
		q := r.URL.Query()
		if q.Get("state") != "all" || q.Get("labels") != "secgate" {
			f.t.Errorf("list query %v, want state=all labels=secgate", q)
		}
		var list []map[string]any
		for _, is := range f.Issues {
			if labels, _ := is["labels"].([]any); containsAny(labels, "secgate") {
				list = append(list, is)
			}
		}
		page, _ := strconv.Atoi(q.Get("page"))
		page = max(page, 1)
		from, to := min((page-1)*f.PerPage, len(list)), min(page*f.PerPage, len(list))
		if to < len(list) {
			w.Header().Set("X-Next-Page", strconv.Itoa(page+1))
		}
		out := list[from:to]
		if out == nil {
			out = []map[string]any{}
		}
		_ = json.NewEncoder(w).Encode(out)
	case r.Method == http.MethodPost && issuesPath.MatchString(r.URL.Path):
		iid := len(f.Issues) + 1
		is := map[string]any{"id": 1000 + iid, "iid": iid, "project_id": 42, "state": "opened", "title": in["title"], "description": in["description"],
			"labels": splitLabels(in["labels"]), "web_url": fmt.Sprintf("https://gitlab.example/acme/shop/-/issues/%d", iid)}
		f.Issues = append(f.Issues, is)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(is)
	case r.Method == http.MethodPut && issuePath.MatchString(r.URL.Path):
		iid, _ := strconv.Atoi(issuePath.FindStringSubmatch(r.URL.Path)[1])
		is := f.Issues[iid-1]
		for _, k := range []string{"title", "description"} {
			if v, ok := in[k]; ok {
				is[k] = v
			}
		}
		if v, ok := in["labels"]; ok {
			is["labels"] = splitLabels(v)
		}
		switch in["state_event"] {
		case "close":
			is["state"] = "closed"
		case "reopen":
			is["state"] = "opened"
		}
		_ = json.NewEncoder(w).Encode(is)
	case r.Method == http.MethodPost && notesPath.MatchString(r.URL.Path):
		iid, _ := strconv.Atoi(notesPath.FindStringSubmatch(r.URL.Path)[1])
		n := map[string]any{"id": 5000 + len(f.Notes), "noteable_iid": iid, "body": in["body"]}
		f.Notes = append(f.Notes, n)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(n)
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"message":"404 Not Found"}`))
	}
}

// splitLabels reads labels as client-go sends them: a comma-separated string.
func splitLabels(v any) []any {
	var out []any
	switch l := v.(type) {
	case string:
		for _, s := range strings.Split(l, ",") {
			if s != "" {
				out = append(out, s)
			}
		}
	case []any:
		out = l
	}
	return out
}

func containsAny(list []any, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
