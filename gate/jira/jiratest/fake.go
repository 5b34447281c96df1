// Package jiratest is an in-process Jira, Cloud or Data Center, for tests:
// the endpoints secgate's client uses (search, create, update, comment,
// transitions), their authentication, their body formats, and injected
// faults.
package jiratest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Ticket is one ticket as the fake holds it.
type Ticket struct {
	Key         string
	Summary     string
	Description any // an ADF document (Cloud) or a wiki string (Data Center)
	Labels      []string
	Priority    string
	Done        bool
	Resolution  string
	Comments    []any
	Links       map[string]string // remote links: globalId → url
}

// Fake is the server.
type Fake struct {
	URL     string
	Cloud   bool
	Project string
	// Credentials it accepts.
	Email, Token, PAT string
	// Faults: the statuses to answer, in order, before serving requests
	// whose "METHOD path" starts with the key (429s carry Retry-After: 0).
	Faults map[string][]int
	// PageSize of searches (small, so that paging is exercised).
	PageSize int

	mu      sync.Mutex
	tickets []*Ticket
	Calls   map[string]int // "METHOD /path-pattern" → count
}

// New starts a fake Jira.
func New(t testing.TB, cloud bool) *Fake {
	f := &Fake{Cloud: cloud, Project: "SEC", Email: "bot@acme.test", Token: "cloud-token-1", PAT: "dc-pat-1",
		Faults: map[string][]int{}, PageSize: 2, Calls: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Tickets returns a copy of the tickets.
func (f *Fake) Tickets() []Ticket {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Ticket
	for _, t := range f.tickets {
		out = append(out, *t)
	}
	return out
}

// Resolve closes a ticket by hand, with a resolution (a person's "Won't Do").
func (f *Fake) Resolve(key, resolution string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.tickets {
		if t.Key == key {
			t.Done, t.Resolution = true, resolution
		}
	}
}

func (f *Fake) api() string {
	if f.Cloud {
		return "/rest/api/3"
	}
	return "/rest/api/2"
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errorMessages": []string{msg}, "errors": map[string]string{}})
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	call := r.Method + " " + r.URL.Path
	for prefix, statuses := range f.Faults {
		if strings.HasPrefix(call, prefix) && len(statuses) > 0 {
			f.Faults[prefix] = statuses[1:]
			if statuses[0] == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "0")
			}
			jsonError(w, statuses[0], "injected fault")
			return
		}
	}
	if f.Cloud {
		u, p, ok := r.BasicAuth()
		if !ok || u != f.Email || p != f.Token {
			jsonError(w, http.StatusUnauthorized, "Client must be authenticated to access this resource.")
			return
		}
	} else if r.Header.Get("Authorization") != "Bearer "+f.PAT {
		jsonError(w, http.StatusUnauthorized, "Client must be authenticated to access this resource.")
		return
	}
	api := f.api()
	path := strings.TrimPrefix(r.URL.Path, api)
	if !strings.HasPrefix(r.URL.Path, api+"/") {
		jsonError(w, http.StatusNotFound, "no such API version")
		return
	}
	var in map[string]any
	if r.Body != nil && (r.Method == http.MethodPost || r.Method == http.MethodPut) {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			jsonError(w, http.StatusBadRequest, "body is not JSON")
			return
		}
	}
	switch {
	case r.Method == http.MethodPost && path == "/search" && f.Cloud:
		// Cloud removed /rest/api/3/search in favour of /search/jql.
		jsonError(w, http.StatusGone, "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.")
	case r.Method == http.MethodPost && (f.Cloud && path == "/search/jql" || !f.Cloud && path == "/search"):
		f.Calls["POST search"]++
		f.search(w, in)
	case r.Method == http.MethodPost && path == "/issue":
		f.Calls["POST issue"]++
		f.create(w, in)
	case strings.HasPrefix(path, "/issue/"):
		rest := strings.TrimPrefix(path, "/issue/")
		key, sub, _ := strings.Cut(rest, "/")
		t := f.find(key)
		if t == nil {
			jsonError(w, http.StatusNotFound, "Issue does not exist or you do not have permission to see it.")
			return
		}
		switch {
		case r.Method == http.MethodPut && sub == "":
			f.Calls["PUT issue"]++
			fields, _ := in["fields"].(map[string]any)
			if msg := f.checkDescription(fields); msg != "" {
				jsonError(w, http.StatusBadRequest, msg)
				return
			}
			if s, ok := fields["summary"].(string); ok {
				t.Summary = s
			}
			if d, ok := fields["description"]; ok {
				t.Description = d
			}
			if ls, ok := fields["labels"].([]any); ok {
				t.Labels = strs(ls)
			}
			w.WriteHeader(http.StatusNoContent)
		case r.Method == http.MethodPost && sub == "comment":
			f.Calls["POST comment"]++
			if msg := f.checkDescription(map[string]any{"description": in["body"]}); msg != "" {
				jsonError(w, http.StatusBadRequest, msg)
				return
			}
			t.Comments = append(t.Comments, in["body"])
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"id":"1"}`))
		case r.Method == http.MethodPost && sub == "remotelink":
			f.Calls["POST remotelink"]++
			obj, _ := in["object"].(map[string]any)
			gid, _ := in["globalId"].(string)
			u, _ := obj["url"].(string)
			if u == "" {
				jsonError(w, http.StatusBadRequest, "object.url is required")
				return
			}
			if t.Links == nil {
				t.Links = map[string]string{}
			}
			t.Links[gid] = u
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"id":10000}`))
		case r.Method == http.MethodGet && sub == "transitions":
			if t.Done {
				_, _ = w.Write([]byte(`{"transitions":[{"id":"11","name":"Reopen","to":{"statusCategory":{"key":"indeterminate"}}},{"id":"12","name":"Archive","to":{"statusCategory":{"key":"done"}}}]}`))
			} else {
				_, _ = w.Write([]byte(`{"transitions":[{"id":"21","name":"In Progress","to":{"statusCategory":{"key":"indeterminate"}}},{"id":"31","name":"Done","to":{"statusCategory":{"key":"done"}}}]}`))
			}
		case r.Method == http.MethodPost && sub == "transitions":
			f.Calls["POST transition"]++
			tr, _ := in["transition"].(map[string]any)
			switch id, _ := tr["id"].(string); {
			case id == "31" && !t.Done:
				t.Done, t.Resolution = true, "Done"
			case id == "11" && t.Done:
				t.Done, t.Resolution = false, ""
			default:
				jsonError(w, http.StatusBadRequest, "Transition id '"+id+"' is not valid for this issue.")
				return
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			jsonError(w, http.StatusMethodNotAllowed, "not supported by the fake")
		}
	default:
		jsonError(w, http.StatusNotFound, "not found")
	}
}

func strs(a []any) []string {
	var out []string
	for _, x := range a {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func (f *Fake) find(key string) *Ticket {
	for _, t := range f.tickets {
		if t.Key == key {
			return t
		}
	}
	return nil
}

// checkDescription enforces the flavor's body format: an ADF document on
// Cloud (a string is refused, as Cloud refuses it), a string on Data Center.
func (f *Fake) checkDescription(fields map[string]any) string {
	d, ok := fields["description"]
	if !ok {
		return ""
	}
	if f.Cloud {
		doc, ok := d.(map[string]any)
		if !ok || doc["type"] != "doc" || doc["version"] != float64(1) {
			return "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
		}
		return ""
	}
	if _, ok := d.(string); !ok {
		return "description: Operation value must be a string"
	}
	return ""
}

func (f *Fake) create(w http.ResponseWriter, in map[string]any) {
	fields, _ := in["fields"].(map[string]any)
	proj, _ := fields["project"].(map[string]any)
	if proj["key"] != f.Project {
		jsonError(w, http.StatusBadRequest, "project: valid project is required")
		return
	}
	if msg := f.checkDescription(fields); msg != "" {
		jsonError(w, http.StatusBadRequest, msg)
		return
	}
	t := &Ticket{Key: fmt.Sprintf("%s-%d", f.Project, len(f.tickets)+1)}
	t.Summary, _ = fields["summary"].(string)
	t.Description = fields["description"]
	if ls, ok := fields["labels"].([]any); ok {
		t.Labels = strs(ls)
	}
	if p, ok := fields["priority"].(map[string]any); ok {
		t.Priority, _ = p["name"].(string)
	}
	f.tickets = append(f.tickets, t)
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"id": strconv.Itoa(10000 + len(f.tickets)), "key": t.Key, "self": f.URL + f.api() + "/issue/" + t.Key})
}

func (f *Fake) search(w http.ResponseWriter, in map[string]any) {
	jql, _ := in["jql"].(string)
	want := fmt.Sprintf(`project = "%s" AND labels = "secgate"`, f.Project)
	if !strings.HasPrefix(jql, want) {
		jsonError(w, http.StatusBadRequest, "the fake answers only "+want+", not "+jql)
		return
	}
	var matched []*Ticket
	for _, t := range f.tickets {
		if slices.Contains(t.Labels, "secgate") {
			matched = append(matched, t)
		}
	}
	start := 0
	if f.Cloud {
		if tok, _ := in["nextPageToken"].(string); tok != "" {
			start, _ = strconv.Atoi(strings.TrimPrefix(tok, "page-"))
		}
	} else if s, ok := in["startAt"].(float64); ok {
		start = int(s)
	}
	end := min(start+f.PageSize, len(matched))
	var page []map[string]any
	for _, t := range matched[start:end] {
		cat := "new"
		if t.Done {
			cat = "done"
		}
		fields := map[string]any{"summary": t.Summary, "labels": t.Labels, "status": map[string]any{"name": "x", "statusCategory": map[string]any{"key": cat}}}
		if t.Resolution != "" {
			fields["resolution"] = map[string]any{"name": t.Resolution}
		} else {
			fields["resolution"] = nil
		}
		page = append(page, map[string]any{"id": "1", "key": t.Key, "fields": fields})
	}
	out := map[string]any{"issues": page}
	if f.Cloud {
		if end < len(matched) {
			out["nextPageToken"] = fmt.Sprintf("page-%d", end)
			out["isLast"] = false
		} else {
			out["isLast"] = true
		}
	} else {
		out["startAt"], out["maxResults"], out["total"] = start, f.PageSize, len(matched)
	}
	_ = json.NewEncoder(w).Encode(out)
}
