package repo

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// DeepenOptions says which range a shallow clone must hold whole, and
// with which credentials to fetch it.
type DeepenOptions struct {
	Base, Head string // the range base..head (Head "": HEAD)
	// Username and Password are basic-auth credentials (GitLab's job
	// token). Without them the checkout's own http.<url>.extraheader is
	// sent, as git sends it (actions/checkout leaves the token there).
	Username, Password string
	// URL is the repository's URL when the clone has no origin remote
	// (GitLab's CI_REPOSITORY_URL). Given, Username and Password are its
	// server's: they are not sent to an origin on another host.
	URL string
	// Timeout bounds the whole deepening (0: DefaultDeepenTimeout).
	Timeout time.Duration
}

// DefaultDeepenTimeout bounds a deepening: a network that hangs must not
// hold the pipeline (the scan then proceeds on the shallow clone).
const DefaultDeepenTimeout = 5 * time.Minute

// deepenSteps are the depths fetched from the base and the head in turn,
// until the range is whole: most pull requests are a few commits on a
// recent base; the last step is git's own --unshallow depth.
var deepenSteps = []int{64, 1024, 1<<31 - 1}

// Deepen makes a shallow clone hold the range base..head whole — both
// commits, and every commit between with its parents — by fetching them
// with go-git (the release image has no git) from the clone's origin,
// with the credentials the CI checkout left. note says what was done
// ("" when the clone held the range already). An error says why the
// clone could not be deepened; it never holds the credentials (go-git's
// errors can carry URLs with userinfo and server text: redacted). The
// clone is left as it was, or deeper: never broken.
func Deepen(ctx context.Context, root string, o DeepenOptions) (note string, err error) {
	if o.Base == "" {
		return "", nil
	}
	head := cmp.Or(o.Head, "HEAD")
	r, err := Open(root)
	if err != nil {
		return "", err
	}
	if ok, _ := wholeRange(r, o.Base, head); ok {
		return "", nil
	}
	want, err := wantedCommits(r, o.Base, head)
	if err != nil {
		return "", err
	}
	src, depth, err := fetchUntil(ctx, r, root, o, want, func() (bool, error) { return wholeRange(r, o.Base, head) })
	switch {
	case err != nil:
		return "", err
	case depth == "":
		return "", fmt.Errorf("%s..%s is still not whole after fetching the whole history from %s", short(o.Base), short(head), src.url)
	}
	return fmt.Sprintf("the clone was deepened to hold %s..%s whole (%s, fetched from %s with %s)", short(o.Base), short(head), depth, src.url, src.authName), nil
}

// fetchUntil fetches want (and the refspecs extra) from the clone's
// origin with the checkout's credentials (o), at the depths of
// deepenSteps in turn, until done says the clone holds what is needed:
// the source, and how deep that took ("" when the whole history did not
// do). An error of done is one of reading the clone after a fetch.
func fetchUntil(ctx context.Context, r *gogit.Repository, root string, o DeepenOptions, want []plumbing.Hash, done func() (bool, error), extra ...config.RefSpec) (source, string, error) {
	src, err := fetchSource(r, GitDir(root), o)
	if err != nil {
		return source{}, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(o.Timeout, DefaultDeepenTimeout))
	defer cancel()
	steps := deepenSteps
	if shallow, err := r.Storer.Shallow(); err == nil && len(shallow) == 0 {
		// a complete clone that lacks a commit (one branch cloned): its
		// whole history, as a plain fetch; a depth would make it shallow
		steps = []int{0}
	}
	for _, depth := range steps {
		if err := fetchDepth(ctx, r, src, want, depth, extra...); err != nil {
			return src, "", src.fail(err)
		}
		if ok, err := done(); err != nil {
			return src, "", fmt.Errorf("after fetching from %s: %w", src.url, err)
		} else if ok {
			if depth == 0 || depth == deepenSteps[len(deepenSteps)-1] {
				return src, "the whole history", nil
			}
			return src, fmt.Sprintf("%d commits deep", depth), nil
		}
	}
	return src, "", nil
}

// DeepenToBranch makes a clone hold a merge base of o.Head and the
// origin's branch (the default branch): it fetches the branch into
// refs/remotes/origin/<branch>, and o.Head, deeper in turn (the depths
// Deepen uses), with the checkout's credentials (o, as for Deepen), until
// they share a commit. A new branch's push is judged from there: a
// depth-1 checkout holds neither. note says what was done, "" when the
// clone held a merge base already; an error when the origin cannot be
// read, or the whole history holds none (unrelated histories).
func DeepenToBranch(ctx context.Context, root, branch string, o DeepenOptions) (note string, err error) {
	if branch == "" || strings.HasPrefix(branch, "-") || strings.ContainsAny(branch, ": \t\n*?[\\^~") || strings.Contains(branch, "..") {
		return "", fmt.Errorf("the default branch %q is not a branch name", branch)
	}
	head := cmp.Or(o.Head, "HEAD")
	// the full name: a short "origin/main" resolves a tag of that name
	// (refs/tags/origin/main, which a change's author can push) first
	local := "refs/remotes/origin/" + branch
	if MergeBase(ctx, root, local, head) != "" {
		return "", nil
	}
	r, err := Open(root)
	if err != nil {
		return "", err
	}
	want, err := wantedCommits(r, head)
	if err != nil {
		return "", err
	}
	var mb string
	spec := config.RefSpec(fmt.Sprintf("+refs/heads/%s:%s", branch, local))
	src, depth, err := fetchUntil(ctx, r, root, o, want, func() (bool, error) {
		mb = MergeBase(ctx, root, local, head)
		return mb != "", nil
	}, spec)
	switch {
	case err != nil:
		return "", err
	case depth == "":
		return "", fmt.Errorf("%s shares no history with the default branch %s: none after fetching both whole from %s", short(head), branch, src.url)
	}
	return fmt.Sprintf("the default branch %s was fetched to find the merge base %s with %s (%s, from %s with %s)", branch, short(mb), short(head), depth, src.url, src.authName), nil
}

func short(rev string) string { return rev[:min(len(rev), 12)] }

// wantedCommits are the commit ids to fetch: a revision the clone can
// resolve (a branch) by its id, else the revision itself, which must then
// be an id (a server is asked for commits, not local names).
func wantedCommits(r *gogit.Repository, revs ...string) ([]plumbing.Hash, error) {
	var out []plumbing.Hash
	for _, rev := range revs {
		if h, err := ResolveCommit(r, rev); err == nil {
			out = append(out, h)
			continue
		}
		if !plumbing.IsHash(rev) {
			return nil, fmt.Errorf("revision %q is neither in the clone nor a full commit id to fetch", rev)
		}
		out = append(out, plumbing.NewHash(rev))
	}
	return out, nil
}

// wholeRange reports whether the clone holds base and head, and every
// commit reachable from head and not from base with all its parents: no
// commit of the range is the edge of a shallow clone, so a walk of the
// range reads each commit against its own parent.
func wholeRange(r *gogit.Repository, base, head string) (bool, error) {
	b, err := ResolveCommit(r, base)
	if err != nil {
		return false, nil
	}
	h, err := ResolveCommit(r, head)
	if err != nil {
		return false, nil
	}
	shallow, err := ShallowCommits(r)
	if err != nil || len(shallow) == 0 {
		return err == nil, err
	}
	exclude := map[plumbing.Hash]bool{}
	if err := ancestors(r, b, nil, shallow, func(c *object.Commit) bool { exclude[c.Hash] = true; return true }); err != nil {
		return false, nil // a commit of the base's history is missing
	}
	whole := true
	err = ancestors(r, h, exclude, shallow, func(c *object.Commit) bool {
		whole = !shallow[c.Hash]
		return whole
	})
	return whole && err == nil, nil
}

// ancestors visits start and its ancestors in the clone, none of
// exclude's, not past a shallow edge, until visit returns false. A
// missing commit is an error.
func ancestors(r *gogit.Repository, start plumbing.Hash, exclude, shallow map[plumbing.Hash]bool, visit func(*object.Commit) bool) error {
	seen := map[plumbing.Hash]bool{}
	stack := []plumbing.Hash{start}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[h] || exclude[h] {
			continue
		}
		seen[h] = true
		c, err := r.CommitObject(h)
		if err != nil {
			return fmt.Errorf("commit %s: %w", h, err)
		}
		if !visit(c) {
			return nil
		}
		if !shallow[h] {
			stack = append(stack, c.ParentHashes...)
		}
	}
	return nil
}

// deepenRef is where a fetched commit is held during the fetch (go-git
// fetches into references); removed right after.
const deepenRef = "refs/secgate/deepen/"

// fetchDepth fetches the wanted commits with depth commits of history
// each, into the clone's objects and shallow file.
func fetchDepth(ctx context.Context, r *gogit.Repository, src source, want []plumbing.Hash, depth int, extra ...config.RefSpec) error {
	specs := make([]config.RefSpec, len(want))
	for i, h := range want {
		specs[i] = config.RefSpec(fmt.Sprintf("+%s:%s%d", h, deepenRef, i))
	}
	specs = append(specs, extra...)
	sameOriginOnce.Do(installSameOrigin)
	remote := gogit.NewRemote(r.Storer, &config.RemoteConfig{Name: "secgate-deepen", URLs: []string{src.url}})
	err := remote.FetchContext(ctx, &gogit.FetchOptions{RefSpecs: specs, Depth: depth, Auth: src.auth, Tags: gogit.NoTags})
	for i := range want {
		_ = r.Storer.RemoveReference(plumbing.ReferenceName(fmt.Sprintf("%s%d", deepenRef, i)))
	}
	if err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return err
	}
	return unshallowFetched(r)
}

// unshallowFetched removes from the shallow file the commits whose
// parents the clone now holds. go-git v5.19.2 adds the server's new
// "shallow" lines to .git/shallow but ignores its "unshallow" lines
// (Remote.updateShallow), so an edge that a deeper fetch filled stays an
// edge, and a walk would still stop there; git drops it. A parent that is
// itself an edge now is in the file already (the server said so).
// TestDeepenWithCheckoutCredentials fails without this ("still not whole").
func unshallowFetched(r *gogit.Repository) error {
	shallow, err := r.Storer.Shallow()
	if err != nil {
		return fmt.Errorf("reading the shallow clone's edge: %w", err)
	}
	var keep []plumbing.Hash
	for _, h := range shallow {
		c, err := r.CommitObject(h)
		if err != nil {
			keep = append(keep, h)
			continue
		}
		for _, p := range c.ParentHashes {
			if _, err := r.Storer.EncodedObject(plumbing.CommitObject, p); err != nil {
				keep = append(keep, h)
				break
			}
		}
	}
	if len(keep) == len(shallow) {
		return nil
	}
	if err := r.Storer.SetShallow(keep); err != nil {
		return fmt.Errorf("writing the shallow clone's edge: %w", err)
	}
	return nil
}

// source is where and how the clone is deepened.
type source struct {
	url      string // no userinfo
	auth     transport.AuthMethod
	authName string   // for the note: which credentials, never their value
	secrets  []string // what no message may show
}

// fetchSource is the clone's origin (else o.URL), over http(s), with
// o's credentials, else the userinfo of the URL, else the checkout's
// http.<url>.extraheader, else none (a public repository).
func fetchSource(r *gogit.Repository, gitDir string, o DeepenOptions) (source, error) {
	raw := o.URL
	if rem, err := r.Remote("origin"); err == nil && len(rem.Config().URLs) > 0 {
		raw = rem.Config().URLs[0]
	}
	var s source
	if raw == "" {
		return s, errors.New("the clone has no origin remote to fetch from")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return s, fmt.Errorf("the origin remote %q is not an http(s) URL: secgate deepens over https only", redactURL(raw))
	}
	user, pass := o.Username, o.Password
	if ou, err := url.Parse(o.URL); o.URL != "" && (err != nil || !strings.EqualFold(ou.Host, u.Host)) {
		// the credentials are o.URL's server's (the job's own GitLab):
		// never sent to another host the origin may name
		user, pass = "", ""
	}
	if pass == "" && u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	remoteUser := ""
	if u.User != nil {
		remoteUser = u.User.Username()
	}
	u.User = nil
	s.url = u.String()
	s.secrets = append(s.secrets, pass)
	switch headers := extraHeaders(gitDir, s.url, remoteUser); {
	case pass != "":
		s.auth, s.authName = &githttp.BasicAuth{Username: user, Password: pass}, "basic auth as "+cmp.Or(user, "(no user)")
	case len(headers) > 0:
		s.auth, s.authName = headerAuth(headers), "the checkout's http.extraheader"
		for _, h := range headers {
			s.secrets = append(s.secrets, headerSecrets(h)...)
		}
	default:
		s.authName = "no credentials"
	}
	return s, nil
}

// fail is a fetch error, said in words, without the credentials.
func (s source) fail(err error) error {
	why := err.Error()
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired):
		why = "the server answered 401: the credentials (" + s.authName + ") were refused"
	case errors.Is(err, transport.ErrAuthorizationFailed):
		why = "the server answered 403: the credentials (" + s.authName + ") may not read the repository"
	case errors.Is(err, transport.ErrRepositoryNotFound):
		why = "the server answered 404 (a private repository answers so without credentials; used: " + s.authName + ")"
	case errors.Is(err, gogit.ErrExactSHA1NotSupported):
		why = "the server does not serve commits by id"
	case errors.Is(err, context.DeadlineExceeded):
		why = "timed out"
	}
	return fmt.Errorf("fetching from %s: %s", s.url, s.redact(why))
}

var userinfo = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]*@`)

// redact removes the credentials from text: each secret, and any URL's
// userinfo.
func (s source) redact(text string) string {
	for _, v := range s.secrets {
		if len(v) >= 4 {
			text = strings.ReplaceAll(text, v, "***")
		}
	}
	return redactURL(text)
}

func redactURL(text string) string { return userinfo.ReplaceAllString(text, "$1***@") }

// headerSecrets are the parts of an extra header no message may show:
// its value, and for basic auth the base64 token and the password in it.
func headerSecrets(header string) []string {
	_, value, _ := strings.Cut(header, ":")
	value = strings.TrimSpace(value)
	out := []string{value}
	if scheme, token, ok := strings.Cut(value, " "); ok {
		token = strings.TrimSpace(token)
		out = append(out, token)
		if strings.EqualFold(scheme, "basic") {
			if dec, err := base64.StdEncoding.DecodeString(token); err == nil {
				_, pass, _ := strings.Cut(string(dec), ":")
				out = append(out, pass)
			}
		}
	}
	return out
}

// headerAuth sends the checkout's extra headers ("Name: value"), as git
// does for http.<url>.extraheader. go-git has no such option; an
// AuthMethod sets the request's headers.
type headerAuth []string

var _ githttp.AuthMethod = headerAuth(nil)

func (h headerAuth) Name() string { return "http-extraheader" }

// String names the method without the values (go-git may print it).
func (h headerAuth) String() string { return fmt.Sprintf("http-extraheader (%d headers)", len(h)) }

func (h headerAuth) SetAuth(req *http.Request) {
	for _, line := range h {
		name, value, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(name) != "" {
			req.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
		}
	}
}

var sameOriginOnce sync.Once

// installSameOrigin makes go-git's http(s) transport refuse a redirect to
// another scheme, host or port than the request's. Go's client copies a
// request's headers to a redirect's target, and drops Authorization only
// for another host name, whatever the port: the checkout's extraheader
// or basic auth would reach another port (another service) of the
// origin's host. go-git takes its transport from a process-wide table
// (FetchOptions has no client), so the policy is the process's: secgate
// fetches nothing else with go-git. TestDeepenRefusesRedirectToAnotherPort
// fails without it (the second server sees the header).
func installSameOrigin() {
	c := githttp.NewClientWithOptions(&http.Client{Transport: http.DefaultTransport, CheckRedirect: sameOrigin}, nil)
	client.InstallProtocol("https", c)
	client.InstallProtocol("http", c)
}

// sameOrigin is the redirect policy: the target must be the first
// request's scheme, host and port.
func sameOrigin(req *http.Request, via []*http.Request) error {
	if len(via) == 0 {
		return nil
	}
	if from := via[0].URL; origin(from) != origin(req.URL) {
		return fmt.Errorf("the origin %s redirects to %s, another scheme, host or port: the checkout's credentials are sent only to the origin itself (set the origin remote to the repository's final URL)", redactURL(origin(from)), redactURL(origin(req.URL)))
	}
	return nil
}

// origin is a URL's scheme://host:port, the port explicit.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}
