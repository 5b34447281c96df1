package gate

import (
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/gate/secrets"
	"github.com/secgate/secgate/internal/cache"
	"github.com/secgate/secgate/policy"
)

// outgoing is the redaction every output goes through last: the values
// the scanners found, and whatever gitleaks' detector finds in the
// outgoing text itself. The second half catches what no scanner reported:
// a token in an allowlisted file (go.mod, a lockfile) quoted by a parser's
// error, a value in a tracker's or registry's message, a scan cut short.
// It travels with the report (report.SetRedactor), so that text added
// after gate.Run is redacted by the same pass.
type outgoing struct {
	known []policy.Redactor

	once   sync.Once
	detect *secrets.TextScanner // nil when the rules did not load: known values only
	// loaded is detect once loaded: Redact needs no detector that has
	// read nothing (a warm run's texts are mostly known clean).
	loaded atomic.Pointer[secrets.TextScanner]
	// from is the run's redaction before the gate (Config.Redaction),
	// whose detector this one shares: its rules load once a run.
	from *outgoing

	// learned are the texts the detector has read this run, by SHA-256,
	// each with a channel closed once its values are in: the same text
	// is given again and again (a line written twice, a document written
	// to a file and to stdout), and reading it again finds nothing new. A
	// caller that gives a text being read waits for that reading, so that
	// its Redact sees the values.
	mu      sync.Mutex
	learned map[[32]byte]chan struct{}

	// clean (with --cache-dir) are the texts in which no rule of this
	// build matched, kept between runs: a warm run's outputs are mostly
	// the same lines and documents, and reading them again is most of
	// its redaction. A text with any match, redacted or not, is never
	// added: it is read every run, as the secret scan's files are. The
	// set holds hashes only, authenticated like every cache file.
	clean *cache.Set
}

var (
	_ report.Learner = (*outgoing)(nil)
	_ report.Saver   = (*outgoing)(nil)
)

func newOutgoing(known ...policy.Redactor) *outgoing { return &outgoing{known: known} }

// NewRedactor is the outgoing redaction without a scan's values (URL
// credentials and the detector): for what is written before the gate
// has run, or when it could not.
func NewRedactor(known ...policy.Redactor) report.Learner { return newOutgoing(known...) }

func (o *outgoing) detector() *secrets.TextScanner {
	o.once.Do(func() {
		if o.from != nil {
			o.detect = o.from.detector()
		} else {
			// The rules are gitleaks' defaults and secgate's; a failure to
			// load them fails the scanners too, so it is seen there.
			o.detect, _ = secrets.NewTextScanner(nil)
		}
		if o.detect != nil {
			o.loaded.Store(o.detect)
		}
	})
	return o.detect
}

// Learn runs the detector over text (a provider-format token glued to
// the text before it, "cAKIA...", included: TextScanner.Learn): every value it finds is redacted
// from every string from then on. The name given to gitleaks is not a
// path, so that no path allowlist (go.mod, lockfiles) applies.
func (o *outgoing) Learn(text string) {
	if text == "" {
		return
	}
	sum := sha256.Sum256([]byte(text))
	id := cleanID(sum)
	if o.clean != nil && o.clean.Has(id) {
		return
	}
	d := o.detector()
	if d == nil {
		return
	}
	o.mu.Lock()
	if done, ok := o.learned[sum]; ok {
		o.mu.Unlock()
		<-done
		return
	}
	if o.learned == nil {
		o.learned = map[[32]byte]chan struct{}{}
	}
	done := make(chan struct{})
	o.learned[sum] = done
	o.mu.Unlock()
	defer close(done)
	if !d.Learn(context.Background(), "secgate output", []byte(text)) && o.clean != nil {
		o.clean.Add(id)
	}
}

// cleanID is a text's id in the clean set.
func cleanID(sum [32]byte) cache.ID {
	var id cache.ID
	copy(id[:], sum[:])
	return id
}

// Redactor is the run's outgoing redaction before the gate runs (what
// the pipeline logs first): with --cache-dir it knows the texts earlier
// runs found clean, and the gate's redaction (Config.Redaction) shares
// its detector and that set.
func (c Config) Redactor(log *slog.Logger) report.Learner {
	o := newOutgoing()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if store, err := c.openCache(log, false); err == nil {
		o.remember(store, c.Version, cmp.Or(c.Now, time.Now()), log)
	}
	return o
}

// follow makes o share from's detector and clean set.
func (o *outgoing) follow(from *outgoing) {
	o.from, o.clean = from, from.clean
}

// remember keeps, between runs, the texts the detector finds nothing in:
// the set of store under this build (version names its rules) and the
// ISO week of now. Every run adds a few texts never seen again (a report
// with its durations, log lines with their times), and a set is read
// whole every run: a set a week bounds it (~100 kB for 5,000 runs with
// 20 such texts each), the first run of a week reads its outputs whole
// once, and last week's set, no longer written, goes first under
// --cache-max.
func (o *outgoing) remember(store *cache.Store, version string, now time.Time, log *slog.Logger) {
	if store == nil {
		return
	}
	year, week := now.UTC().ISOWeek()
	set, warning := store.Load("outgoing", cache.Digest("secgate outgoing text 1", version, fmt.Sprintf("%d-W%02d", year, week)))
	if warning != "" {
		log.Warn(warning)
	}
	o.clean = set
}

// Save writes what this run found clean (report.Saver): once every
// output is written.
func (o *outgoing) Save() error {
	if o.clean == nil {
		return nil
	}
	return o.clean.Save()
}

// Redact implements policy.Redactor.
func (o *outgoing) Redact(s string) string {
	s = report.RedactText(s, o.known...)
	if d := o.loaded.Load(); d != nil {
		s = d.Redact(s)
	}
	return s
}
