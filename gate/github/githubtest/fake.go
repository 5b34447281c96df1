// Package githubtest is an httptest fake of the GitHub REST API's issue
// endpoints, for the tests of the action and of the CLI in GitHub Actions.
package githubtest

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

// FakeAPI is an httptest fake of the REST API's issues endpoints. It
// asserts the method, path and auth header of each request, answers with
// the payload shapes of the REST documentation (issues with html_url,
// number, state, state_reason, labels; pull requests listed as issues with
// a pull_request key; Link pagination), and can fail on demand.
type FakeAPI struct {
	t        *testing.T
	Token    string
	PerPage  int // page size it answers with (small, to test pagination)
	mu       sync.Mutex
	Issues   []map[string]any
	Comments []map[string]any // each with issue_number
	Requests []string
	// faults: the next answers of a method+path prefix, as status codes
	Faults map[string][]int
	Srv    *httptest.Server
}

// New starts a fake for the repository acme/shop, answering to Token.
func New(t *testing.T) *FakeAPI {
	f := &FakeAPI{t: t, Token: "ghs_faketoken0123456789", PerPage: 2, Faults: map[string][]int{}}
	f.Srv = httptest.NewServer(f)
	t.Cleanup(f.Srv.Close)
	return f
}

var (
	issuesPath   = regexp.MustCompile(`^/repos/acme/shop/issues$`)
	issuePath    = regexp.MustCompile(`^/repos/acme/shop/issues/(\d+)$`)
	commentsPath = regexp.MustCompile(`^/repos/acme/shop/issues/(\d+)/comments$`)
	commentPath  = regexp.MustCompile(`^/repos/acme/shop/issues/comments/(\d+)$`)
)

func (f *FakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Requests = append(f.Requests, r.Method+" "+r.URL.Path)
	if got := r.Header.Get("Authorization"); got != "Bearer "+f.Token {
		f.t.Errorf("%s %s: Authorization %q", r.Method, r.URL.Path, got)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	for prefix, codes := range f.Faults {
		if len(codes) > 0 && strings.HasPrefix(r.Method+" "+r.URL.Path, prefix) {
			f.Faults[prefix] = codes[1:]
			switch codes[0] {
			case http.StatusForbidden:
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`))
			case http.StatusTooManyRequests:
				w.Header().Set("X-RateLimit-Remaining", "0")
				w.Header().Set("X-RateLimit-Reset", "0")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = w.Write([]byte(`{"message":"API rate limit exceeded"}`))
			case -1: // truncated JSON
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`[{"number": 1, "title": "tru`))
			default:
				w.WriteHeader(codes[0])
				_, _ = w.Write([]byte(`{"message":"Server Error"}`))
			}
			return
		}
	}
	var in map[string]any
	if r.Body != nil && (r.Method == http.MethodPost || r.Method == http.MethodPatch) {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			f.t.Errorf("%s %s: body: %v", r.Method, r.URL.Path, err)
		}
	}
	switch {
	case r.Method == http.MethodGet && issuesPath.MatchString(r.URL.Path):
		q := r.URL.Query()
		if q.Get("state") != "all" || q.Get("labels") != "secgate" {
			f.t.Errorf("list query %v, want state=all labels=secgate", q)
		}
		f.page(w, r, f.Issues)
	case r.Method == http.MethodPost && issuesPath.MatchString(r.URL.Path):
		n := len(f.Issues) + 1
		is := map[string]any{"number": n, "html_url": fmt.Sprintf("https://github.com/acme/shop/issues/%d", n), "state": "open",
			"title": in["title"], "body": in["body"], "labels": LabelObjects(in["labels"])}
		f.Issues = append(f.Issues, is)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(is)
	case r.Method == http.MethodPatch && issuePath.MatchString(r.URL.Path):
		n, _ := strconv.Atoi(issuePath.FindStringSubmatch(r.URL.Path)[1])
		is := f.Issues[n-1]
		for _, k := range []string{"title", "body", "state", "state_reason"} {
			if v, ok := in[k]; ok {
				is[k] = v
			}
		}
		if ls, ok := in["labels"]; ok {
			is["labels"] = LabelObjects(ls)
		}
		_ = json.NewEncoder(w).Encode(is)
	case r.Method == http.MethodGet && commentsPath.MatchString(r.URL.Path):
		n, _ := strconv.Atoi(commentsPath.FindStringSubmatch(r.URL.Path)[1])
		var cs []map[string]any
		for _, c := range f.Comments {
			if c["issue_number"] == n {
				cs = append(cs, c)
			}
		}
		f.page(w, r, cs)
	case r.Method == http.MethodPost && commentsPath.MatchString(r.URL.Path):
		n, _ := strconv.Atoi(commentsPath.FindStringSubmatch(r.URL.Path)[1])
		id := len(f.Comments) + 1000
		c := map[string]any{"id": id, "issue_number": n, "body": in["body"], "html_url": fmt.Sprintf("https://github.com/acme/shop/issues/%d#issuecomment-%d", n, id)}
		f.Comments = append(f.Comments, c)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(c)
	case r.Method == http.MethodPatch && commentPath.MatchString(r.URL.Path):
		id, _ := strconv.Atoi(commentPath.FindStringSubmatch(r.URL.Path)[1])
		c := f.Comments[id-1000]
		c["body"] = in["body"]
		_ = json.NewEncoder(w).Encode(c)
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
	}
}

// page answers a list with RFC 5988 Link pagination, as the API does.
func (f *FakeAPI) page(w http.ResponseWriter, r *http.Request, all []map[string]any) {
	p, _ := strconv.Atoi(r.URL.Query().Get("page"))
	p = max(p, 1)
	from, to := min((p-1)*f.PerPage, len(all)), min(p*f.PerPage, len(all))
	if to < len(all) {
		u := *r.URL
		q := u.Query()
		q.Set("page", strconv.Itoa(p+1))
		u.RawQuery = q.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, f.Srv.URL, u.RequestURI()))
	}
	page := all[from:to]
	if page == nil {
		page = []map[string]any{}
	}
	_ = json.NewEncoder(w).Encode(page)
}

// LabelObjects are labels as the API shows them.
func LabelObjects(v any) []map[string]any {
	var out []map[string]any
	ls, _ := v.([]any)
	for _, l := range ls {
		out = append(out, map[string]any{"name": l})
	}
	return out
}
