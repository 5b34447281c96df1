package gate

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/policy"
)

// fakeScanner is a hand-written fake: its behaviour is a function field.
type fakeScanner struct {
	name string
	scan func(ctx context.Context) (policy.ScanResult, error)
}

func (f fakeScanner) Name() string { return f.name }
func (f fakeScanner) Scan(ctx context.Context) (policy.ScanResult, error) {
	return f.scan(ctx)
}

func returns(name string, fs ...policy.Finding) fakeScanner {
	return fakeScanner{name: name, scan: func(context.Context) (policy.ScanResult, error) {
		return policy.ScanResult{Findings: fs, Notes: []string{name + " note"}}, nil
	}}
}

func failing(name string, err error) fakeScanner {
	return fakeScanner{name: name, scan: func(context.Context) (policy.ScanResult, error) { return policy.ScanResult{}, err }}
}

func vuln(id string, score float64) policy.Finding {
	return policy.Finding{ID: id, Kind: policy.KindVulnerability, Rule: id, Score: &score, ScoreSource: policy.SourceCVSSv3, Fingerprint: id}
}

var now = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

func TestRunMergesScannersAndDecides(t *testing.T) {
	// A rendezvous, not a timing: each scanner waits (up to 10 s) until
	// both have started. Run one at a time, the first gives up waiting and
	// the count stays below 2; a loaded machine only makes it slower.
	var started sync.WaitGroup
	started.Add(2)
	both := make(chan struct{})
	go func() { started.Wait(); close(both) }()
	var met atomic.Int32
	slow := func(name string, f policy.Finding) fakeScanner {
		return fakeScanner{name: name, scan: func(ctx context.Context) (policy.ScanResult, error) {
			started.Done()
			select {
			case <-both:
				met.Add(1)
			case <-time.After(10 * time.Second):
			}
			time.Sleep(50 * time.Millisecond) // the report's duration is measured
			return policy.ScanResult{Findings: []policy.Finding{f}}, nil
		}}
	}
	rep, err := Run(context.Background(), Config{
		Path: t.TempDir(), Environment: "staging", Now: now,
		Scanners: []Scanner{slow("secrets", policy.Finding{ID: "s1", Kind: policy.KindSecret, Rule: "github-pat", Fingerprint: "s1"}), slow("deps", vuln("CVE-1", 7.5))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if met.Load() != 2 {
		t.Errorf("scanners ran one at a time (%d of 2 met the other), want concurrently", met.Load())
	}
	if rep.Verdict != policy.VerdictFail || rep.DeployAllowed || rep.ExitCode() != 1 {
		t.Errorf("verdict %v deploy %v exit %d", rep.Verdict, rep.DeployAllowed, rep.ExitCode())
	}
	if rep.Counts.Critical != 1 || rep.Counts.High != 1 || len(rep.Findings) != 2 {
		t.Errorf("counts %+v findings %d", rep.Counts, len(rep.Findings))
	}
	for _, s := range rep.Scanners {
		if s.Status != report.StatusOK || s.Findings != 1 || s.DurationMS < 50 {
			t.Errorf("scanner %+v", s)
		}
	}
}

func TestRunScannerErrorFailsClosed(t *testing.T) {
	rep, err := Run(context.Background(), Config{
		Path: t.TempDir(), Now: now,
		Scanners: []Scanner{returns("secrets", vuln("CVE-LOW", 2.0)), failing("deps", errors.New("OSV API unreachable"))},
	})
	if err == nil || !strings.Contains(err.Error(), "deps: OSV API unreachable") {
		t.Fatalf("err = %v", err)
	}
	if rep.Verdict != policy.VerdictError || rep.DeployAllowed || rep.ExitCode() != 2 {
		t.Errorf("verdict %v deploy %v exit %d, want error, false, 2", rep.Verdict, rep.DeployAllowed, rep.ExitCode())
	}
	if len(rep.Findings) != 1 {
		t.Errorf("the other scanners' findings must stay in the report: %d", len(rep.Findings))
	}
	st := map[string]report.Scanner{}
	for _, s := range rep.Scanners {
		st[s.Name] = s
	}
	if st["deps"].Status != report.StatusError || st["deps"].Error != "OSV API unreachable" || st["secrets"].Status != report.StatusOK {
		t.Errorf("scanner statuses %+v", rep.Scanners)
	}
	if len(rep.Errors) != 1 {
		t.Errorf("errors %v", rep.Errors)
	}
}

func TestRunSkipOnErrorPolicy(t *testing.T) {
	dir := t.TempDir()
	writePolicy(t, dir, "skip_on_error: [deps]\n")
	rep, err := Run(context.Background(), Config{
		Path: dir, Now: now,
		Scanners: []Scanner{returns("secrets"), failing("deps", errors.New("OSV API unreachable"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != policy.VerdictPass || rep.Scanners[1].Status != report.StatusSkipped {
		t.Errorf("verdict %v, deps %+v", rep.Verdict, rep.Scanners[1])
	}
	if w := strings.Join(rep.Warnings, "\n"); !strings.Contains(w, "scanner deps failed and was skipped") {
		t.Errorf("warnings %q must say what was skipped", w)
	}
}

// valueRedactor redacts one value: a scanner's Redactor in tests.
type valueRedactor string

func (v valueRedactor) Redact(s string) string { return strings.ReplaceAll(s, string(v), "[REDACTED]") }

// A failing scanner does not cancel the others before they hand over
// their findings and values: the value a slow scanner knows is redacted
// from the failing one's error (issue 25: a pom.xml entity holding a
// token broke the deps scan, the secret scan was cancelled, the token
// was published). Restoring errgroup.WithContext fails it.
func TestRunErrorWaitsForOtherScanners(t *testing.T) {
	// Not a real-format token: the detector must not be what redacts it.
	value := "not-a-token-" + strings.Repeat("q7", 8)
	slow := fakeScanner{name: "secrets", scan: func(ctx context.Context) (policy.ScanResult, error) {
		select {
		case <-ctx.Done():
			return policy.ScanResult{}, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		return policy.ScanResult{Findings: []policy.Finding{{ID: "s1", Kind: policy.KindSecret, Rule: "r", Fingerprint: "s1"}}, Redactor: valueRedactor(value)}, nil
	}}
	rep, err := Run(context.Background(), Config{
		Path: t.TempDir(), Now: now,
		Scanners: []Scanner{slow, failing("deps", errors.New("pom.xml: invalid entity &"+value+";"))},
	})
	if err == nil || !strings.Contains(err.Error(), "deps: pom.xml: invalid entity &[REDACTED];") {
		t.Errorf("err = %v, want the deps error with the value redacted", err)
	}
	if rep.Verdict != policy.VerdictError || rep.ExitCode() != 2 || rep.DeployAllowed {
		t.Errorf("verdict %v exit %d: must fail closed", rep.Verdict, rep.ExitCode())
	}
	if rep.Scanners[0].Status != report.StatusOK || len(rep.Findings) != 1 {
		t.Errorf("the secret scan must finish and keep its finding: %+v, %d findings", rep.Scanners[0], len(rep.Findings))
	}
	var js strings.Builder
	if err := (report.JSON{}).Write(&js, rep); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(js.String(), value) || !strings.Contains(js.String(), "[REDACTED]") {
		t.Errorf("the report must carry the error redacted:\n%s", js.String())
	}
}

// A value no scanner reported is found by the detector in the outgoing
// text: a real-format token quoted by a library error (removing the
// detector from outgoing fails it).
func TestRunDetectsUnreportedValues(t *testing.T) {
	tok := secretstest.GitHubPAT(t)
	rep, err := Run(context.Background(), Config{
		Path: t.TempDir(), Now: now,
		Scanners: []Scanner{failing("deps", errors.New("go.mod:5: unknown directive: "+tok))},
	})
	if err == nil || strings.Contains(err.Error(), tok[4:]) {
		t.Errorf("err = %v: the token must be redacted", err)
	}
	var js strings.Builder
	_ = (report.JSON{}).Write(&js, rep)
	if strings.Contains(js.String(), tok[4:]) {
		t.Errorf("the report carries the token:\n%s", js.String())
	}
	// Text added after Run (a tracker's error) is redacted by the report's own pass.
	rep.Warnings = append(rep.Warnings, "tracker said: bad token "+tok)
	report.Redact(&rep)
	if w := strings.Join(rep.Warnings, "\n"); strings.Contains(w, tok[4:]) {
		t.Errorf("warnings added after Run keep the token: %s", w)
	}
}

func TestRunBadPolicy(t *testing.T) {
	dir := t.TempDir()
	writePolicy(t, dir, "version: 1\nexceptions:\n  - id: CVE-2021-44228\n    expires: 2027-01-01\n")
	rep, err := Run(context.Background(), Config{Path: dir, Now: now, Scanners: []Scanner{returns("secrets")}})
	want := filepath.Join(dir, ".secgate.yml") + ":3:5: exception \"CVE-2021-44228\" has no reason"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if rep.Verdict != policy.VerdictError || rep.ExitCode() != 2 || len(rep.Errors) != 1 {
		t.Errorf("report %+v", rep)
	}
}

func TestRunConfigErrors(t *testing.T) {
	dir := t.TempDir()
	// A registry that refuses connections: loopback, a closed port.
	closed := httptest.NewServer(http.NotFoundHandler())
	refused := strings.TrimPrefix(closed.URL, "http://") + "/app:1"
	closed.Close()
	for name, tt := range map[string]struct {
		c    Config
		want string
	}{
		"unknown scanner":         {Config{Path: dir, Only: []string{"sast"}}, `unknown scanner "sast" (want secrets, deps, image, manifests, dockerfile, config)`},
		"only and skip":           {Config{Path: dir, Only: []string{"secrets"}, Skip: []string{"deps"}}, "only and skip cannot be combined"},
		"head without base":       {Config{Path: dir, Head: "HEAD"}, "head needs base"},
		"history and range":       {Config{Path: dir, History: true, Base: "main"}, "history and base select different secret scans"},
		"missing path":            {Config{Path: filepath.Join(dir, "nope")}, "scan path: stat " + filepath.Join(dir, "nope") + ": no such file or directory"},
		"download without db":     {Config{Path: dir, DownloadDB: true}, "download_db needs offline_db"},
		"image scanner, no image": {Config{Path: dir, Only: []string{"image"}}, "scanner image cannot run: no image was given"},
		"config scanner, no base": {Config{Path: dir, Only: []string{"config"}}, "scanner config cannot run: it compares with a base revision"},
		"unreachable registry":    {Config{Path: dir, Only: []string{"image"}, Images: []string{refused}}, "image: image " + refused + ": "},
	} {
		t.Run(name, func(t *testing.T) {
			rep, err := Run(context.Background(), tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
			if rep.Verdict != policy.VerdictError || rep.ExitCode() != 2 || rep.DeployAllowed {
				t.Errorf("verdict %v exit %d deploy %v", rep.Verdict, rep.ExitCode(), rep.DeployAllowed)
			}
		})
	}
}

func TestRunCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := Run(ctx, Config{Path: t.TempDir(), Now: now, Scanners: []Scanner{returns("secrets")}})
	if !errors.Is(err, context.Canceled) || rep.Verdict != policy.VerdictError {
		t.Errorf("a cancelled run must not pass: %v %v", err, rep.Verdict)
	}
}

func writePolicy(t *testing.T, dir, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, policy.FileName), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRunRecoversAPanickingScanner(t *testing.T) {
	panics := fakeScanner{name: "deps", scan: func(context.Context) (policy.ScanResult, error) {
		var fs []policy.Finding
		return policy.ScanResult{Findings: fs[:len(fs)+1]}, nil // a runtime panic: slice bounds out of range
	}}
	rep, err := Run(context.Background(), Config{Path: t.TempDir(), Now: now, Scanners: []Scanner{returns("secrets"), panics}})
	if err == nil || !strings.Contains(err.Error(), "deps: internal error: panic: runtime error: slice bounds out of range") {
		t.Fatalf("err = %v", err)
	}
	if rep.Verdict != policy.VerdictError || rep.DeployAllowed || rep.ExitCode() != 2 || len(rep.Errors) != 1 {
		t.Errorf("verdict %v deploy %v exit %d errors %q", rep.Verdict, rep.DeployAllowed, rep.ExitCode(), rep.Errors)
	}
	if rep.Scanners[1].Status != report.StatusError || rep.Scanners[0].Status != report.StatusOK {
		t.Errorf("scanners %+v", rep.Scanners)
	}
}

// replacer is a fake Redactor.
type replacer struct{ value string }

func (r replacer) Redact(s string) string { return strings.ReplaceAll(s, r.value, "[REDACTED]") }

// The last pass: a secret value or URL credentials anywhere in what the
// scanners returned, or in an error, never reach the report or the error.
func TestRunRedactsEveryPublishedString(t *testing.T) {
	const value = "Zq8vN2pLw4xR7tKe"
	leaky := fakeScanner{name: "secrets", scan: func(context.Context) (policy.ScanResult, error) {
		return policy.ScanResult{
			Findings: []policy.Finding{{ID: "s1", Kind: policy.KindSecret, Rule: "r", Title: "found " + value, Fix: "rotate " + value,
				Location: policy.Location{Path: "cfg/" + value + ".env"}, Fingerprint: "s1"}},
			Notes:    []string{"mirror https://robot:" + value + "@mirror.internal/osv answered"},
			Redactor: replacer{value},
		}, nil
	}}
	erring := failing("deps", errors.New("GET https://ci:"+"hunter22"+"@osv.internal/v1/query: 500 (token "+value+")"))
	rep, err := Run(context.Background(), Config{Path: t.TempDir(), Now: now, Scanners: []Scanner{leaky, erring}})
	if err == nil {
		t.Fatal("want the deps error")
	}
	var b strings.Builder
	if jerr := (report.JSON{}).Write(&b, rep); jerr != nil {
		t.Fatal(jerr)
	}
	for name, out := range map[string]string{"report": b.String(), "error": err.Error()} {
		for _, leak := range []string{value, "hunter22", "robot:"} {
			if strings.Contains(out, leak) {
				t.Errorf("%s contains %q:\n%s", name, leak, out)
			}
		}
	}
	if !strings.Contains(err.Error(), "https://[REDACTED]@osv.internal/v1/query") || !strings.Contains(b.String(), "found [REDACTED]") {
		t.Errorf("redaction did not keep the rest of the text: %s\n%s", err, b.String())
	}
}

// A new scanner is one Registration: with nothing else changed, it is
// selectable, its name is valid in the policy's skip_on_error, its check's
// tier is set in the policy, and it appears in the report.
func TestNewScannerRegistersInOnePlace(t *testing.T) {
	saved := registry
	t.Cleanup(func() { registry = saved })
	registry = append(slices.Clone(saved), Registration{
		Name: "licenses", Section: "licenses",
		Checks: []policy.Check{{ID: "license-unknown", Title: "A dependency with no known license", Tier: policy.Low}},
		Ready:  always,
		Build: func(c Config, pol *policy.Policy, _ *slog.Logger) (Scanner, error) {
			tier := pol.CheckTier("license-unknown", policy.Low)
			return returns("licenses", policy.Finding{ID: "license-unknown", Kind: policy.KindImage, Rule: "license-unknown",
				Severity: tier, ScoreSource: policy.SourceRuleDefault, Fingerprint: "df-1", Location: policy.Location{Path: "go.mod", Line: 1}}), nil
		},
	})
	dir := t.TempDir()
	writePolicy(t, dir, "skip_on_error: [licenses]\nchecks: {license-unknown: high}\n")
	rep, err := Run(context.Background(), Config{Path: dir, Now: now, Only: []string{"licenses"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Scanners) != 1 || rep.Scanners[0].Name != "licenses" || rep.Scanners[0].Status != report.StatusOK {
		t.Fatalf("scanners %+v", rep.Scanners)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Severity != policy.High || rep.Verdict != policy.VerdictBlockProduction {
		t.Errorf("findings %+v verdict %v: want the policy's tier (high)", rep.Findings, rep.Verdict)
	}
	if !slices.Contains(ScannerNames(), "licenses") {
		t.Error("ScannerNames does not list the new scanner")
	}
	// Without the registration, the same policy is an error naming it.
	registry = saved
	_, err = Run(context.Background(), Config{Path: dir, Now: now})
	if err == nil || !strings.Contains(err.Error(), `unknown scanner "licenses"`) || !strings.Contains(err.Error(), `unknown check "license-unknown"`) {
		t.Errorf("err = %v", err)
	}
}

// A run that covered nothing says so in the verdict's reasons: a pass over
// nothing is not a clean change.
func TestRunSaysWhenNothingWasScanned(t *testing.T) {
	rep, err := Run(context.Background(), Config{Path: t.TempDir(), Now: now, Scanners: []Scanner{returns("secrets"), returns("deps")}})
	if err != nil {
		t.Fatal(err)
	}
	if r := strings.Join(rep.Reasons, "\n"); !strings.Contains(r, "nothing was scanned: secrets, deps read no file") {
		t.Errorf("reasons %q", r)
	}
	covered := fakeScanner{name: "deps", scan: func(context.Context) (policy.ScanResult, error) {
		return policy.ScanResult{Coverage: policy.Coverage{Lockfiles: 1, Packages: 3}}, nil
	}}
	rep, err = Run(context.Background(), Config{Path: t.TempDir(), Now: now, Scanners: []Scanner{returns("secrets"), covered}})
	if err != nil {
		t.Fatal(err)
	}
	if r := strings.Join(rep.Reasons, "\n"); strings.Contains(r, "nothing was scanned") {
		t.Errorf("reasons %q: a lockfile was read", r)
	}
	if c := rep.Scanners[1].Coverage; c == nil || c.Lockfiles != 1 || c.Packages != 3 {
		t.Errorf("coverage %+v", c)
	}
}
