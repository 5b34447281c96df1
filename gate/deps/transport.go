package deps

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
)

// transport sends osv-scanner's requests to the configured endpoints and
// remembers every failure: osv-scanner turns a failed or timed-out API
// query into "no vulnerabilities" (v2.5.0 logs the error and returns an
// empty result; TestOSVAPIFailuresFailClosed reproduces it), the gate must not.
type transport struct {
	next   http.RoundTripper
	routes map[string]*url.URL // real host → configured base URL
	mu     sync.Mutex
	errs   []error
}

func newTransport(o Options) *transport {
	next := o.HTTPClient.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	t := &transport{next: next, routes: map[string]*url.URL{}}
	for real, configured := range map[string]string{DefaultAPIURL: o.apiURL(), DefaultDBURL: o.dbURL()} {
		ru, _ := url.Parse(real)
		cu, err := url.Parse(configured)
		if err == nil {
			t.routes[ru.Host] = cu
		}
	}
	return t
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if to, ok := t.routes[req.URL.Host]; ok {
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host = to.Scheme, to.Host
		req.URL.Path = singleJoin(to.Path, req.URL.Path)
		req.Host = to.Host
		setCredentials(req, to)
	}
	queries := -1
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/v1/querybatch") && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		var q struct {
			Queries []json.RawMessage `json:"queries"`
		}
		if json.Unmarshal(body, &q) == nil {
			queries = len(q.Queries)
		}
	}
	resp, err := t.next.RoundTrip(req)
	switch {
	case err != nil:
		t.record(fmt.Errorf("%s %s: %w", req.Method, redact(req.URL), err))
	case resp.StatusCode >= 400 && !(resp.StatusCode == http.StatusNotFound && req.Method == http.MethodGet):
		// A 404 on GET is "no such advisory", an answer; anything else is not.
		t.record(fmt.Errorf("%s %s: %s", req.Method, redact(req.URL), resp.Status))
	case resp.StatusCode == http.StatusOK && (queries >= 0 || req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/v1/vulns/")):
		// The answers the verdict depends on are checked, not trusted: an
		// empty 200 or a short answer would read as "no vulnerabilities".
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		var cerr error
		switch {
		case rerr != nil:
			cerr = fmt.Errorf("reading the answer: %w", rerr)
		case len(body) > maxAnswer:
			cerr = fmt.Errorf("the answer is over %d bytes", maxAnswer)
		case queries >= 0:
			cerr = checkBatch(body, queries)
		default:
			cerr = checkRecord(body, path.Base(req.URL.Path))
		}
		if cerr != nil {
			t.record(fmt.Errorf("%s %s: %w", req.Method, redact(req.URL), cerr))
		}
	}
	return resp, err
}

// maxAnswer bounds an API answer read for checking.
const maxAnswer = 256 << 20

// checkBatch checks a querybatch answer: exactly one result per query,
// each an object whose vulns (if any) have ids.
func checkBatch(body []byte, queries int) error {
	var a struct {
		Results *[]json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("malformed answer: %w", err)
	}
	if a.Results == nil {
		return fmt.Errorf("malformed answer: no results for %d queries", queries)
	}
	if len(*a.Results) != queries {
		return fmt.Errorf("malformed answer: %d results for %d queries", len(*a.Results), queries)
	}
	for i, r := range *a.Results {
		var res struct {
			Vulns []struct {
				ID string `json:"id"`
			} `json:"vulns"`
		}
		if err := json.Unmarshal(r, &res); err != nil {
			return fmt.Errorf("malformed answer: result %d: %w", i, err)
		}
		for _, v := range res.Vulns {
			if v.ID == "" {
				return fmt.Errorf("malformed answer: result %d: a vulnerability without an id", i)
			}
		}
	}
	return nil
}

// checkRecord checks that an advisory answer is the record asked for.
func checkRecord(body []byte, id string) error {
	var r struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("malformed answer: %w", err)
	}
	if want, err := url.PathUnescape(id); err == nil && r.ID != want {
		return fmt.Errorf("asked for %s, the answer is the record %q", want, r.ID)
	}
	return nil
}

// setCredentials sends the user:password of a configured URL (a mirror or
// proxy behind basic auth) as an Authorization header, on every request to
// it: the querybatch POSTs as well as the advisory GETs.
func setCredentials(req *http.Request, configured *url.URL) {
	if configured.User == nil {
		return
	}
	pw, _ := configured.User.Password()
	req.SetBasicAuth(configured.User.Username(), pw)
	req.URL.User = nil
}

func (t *transport) record(err error) {
	t.mu.Lock()
	t.errs = append(t.errs, err)
	t.mu.Unlock()
}

// failure is the error to fail the scan with, if any request failed.
func (t *transport) failure() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.errs) == 0 {
		return nil
	}
	return fmt.Errorf("vulnerability data unavailable, failing closed: %w", errors.Join(t.errs...))
}

func singleJoin(a, b string) string {
	switch {
	case a == "" || a == "/":
		return b
	case a[len(a)-1] == '/' && len(b) > 0 && b[0] == '/':
		return a + b[1:]
	}
	return a + b
}

// redact drops credentials and query strings from a URL before it is shown.
func redact(u *url.URL) string {
	c := *u
	c.User, c.RawQuery = nil, ""
	return c.String()
}
