package deps

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
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
	resp, err := t.next.RoundTrip(req)
	switch {
	case err != nil:
		t.record(fmt.Errorf("%s %s: %w", req.Method, redact(req.URL), err))
	case resp.StatusCode >= 400 && !(resp.StatusCode == http.StatusNotFound && req.Method == http.MethodGet):
		// A 404 on GET is "no such advisory", an answer; anything else is not.
		t.record(fmt.Errorf("%s %s: %s", req.Method, redact(req.URL), resp.Status))
	}
	return resp, err
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
