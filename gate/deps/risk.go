package deps

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/secgate/secgate/policy"
)

// riskFacts is what the report says of the KEV and EPSS data a scan read.
type riskFacts struct {
	notes []string
}

// cvesOf lists the CVE ids of a finding: its id and aliases.
func cvesOf(f policy.Finding) []string {
	var out []string
	for _, id := range append([]string{f.ID}, f.Aliases...) {
		if u := strings.ToUpper(id); strings.HasPrefix(u, "CVE-") && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// annotateRisk gives each vulnerability finding its KEV entry and EPSS
// score, from the offline database directory db: the policy's floors
// (deps.kev, deps.epss) raise tiers by them. Nothing to annotate, nothing
// read. A missing file is a note naming it (the floor was not applied);
// a file that does not parse or is older than opts.MaxDBAge (by the
// catalog's dateReleased, the scores' score_date) fails closed, as stale
// OSV data does: an exploited advisory must not pass as a theoretical one.
func annotateRisk(db string, findings []policy.Finding, opts Options) (riskFacts, error) {
	var facts riskFacts
	want := map[string]bool{}
	for _, f := range findings {
		if f.Kind == policy.KindVulnerability {
			for _, c := range cvesOf(f) {
				want[c] = true
			}
		}
	}
	if len(want) == 0 {
		return facts, nil
	}
	now := cmp.Or(opts.Now, time.Now())
	var errs []error
	stale := func(what, path string, date time.Time) error {
		age := now.Sub(date)
		// a date past tomorrow (every time zone's today) is not a real
		// release: data that never goes stale
		if age < -36*time.Hour {
			return fmt.Errorf("%s %s is dated %s, in the future: not a real release of it", what, path, date.UTC().Format(time.DateOnly))
		}
		if opts.MaxDBAge > 0 && age > opts.MaxDBAge {
			return fmt.Errorf("%s %s is %d days old (as of %s), over deps.max_db_age (%s): exploitation since is not known; sync it (--download-db) or change the limit",
				what, path, int(age.Hours()/24), date.UTC().Format(time.DateOnly), formatAge(opts.MaxDBAge))
		}
		return nil
	}

	kevPath := filepath.Join(db, filepath.FromSlash(KEVFile))
	switch kev, err := loadKEV(kevPath); {
	case opts.KEVOff && errors.Is(err, os.ErrNotExist):
		// not fetched for a floor that is off; present, it is still shown
		facts.notes = append(facts.notes, "deps.kev is off: no KEV catalog was fetched")
	case errors.Is(err, os.ErrNotExist):
		facts.notes = append(facts.notes, fmt.Sprintf("no KEV data (%s): known-exploited advisories were not raised (deps.kev); fetch it with --download-db", kevPath))
	case err != nil:
		errs = append(errs, fmt.Errorf("%w: failing closed", err))
	default:
		if err := stale("KEV catalog", kevPath, kev.released); err != nil {
			errs = append(errs, err)
			break
		}
		n := 0
		for i := range findings {
			for _, c := range cvesOf(findings[i]) {
				if e, ok := kev.entries[c]; ok && findings[i].Kind == policy.KindVulnerability {
					findings[i].KEV = &e
					n++
					break
				}
			}
		}
		facts.notes = append(facts.notes, fmt.Sprintf("KEV catalog %s: %d entries, released %s; %d of the findings are known exploited",
			kev.version, len(kev.entries), kev.released.UTC().Format(time.DateOnly), n))
	}

	epssPath := filepath.Join(db, filepath.FromSlash(EPSSFile))
	switch sc, err := loadEPSS(epssPath, want); {
	case opts.EPSSOff && errors.Is(err, os.ErrNotExist):
		facts.notes = append(facts.notes, "deps.epss is off: no EPSS scores were fetched")
	case errors.Is(err, os.ErrNotExist):
		facts.notes = append(facts.notes, fmt.Sprintf("no EPSS data (%s): likely-exploited advisories were not raised (deps.epss); fetch it with --download-db", epssPath))
	case err != nil:
		errs = append(errs, fmt.Errorf("%w: failing closed", err))
	default:
		if err := stale("EPSS scores", epssPath, sc.date); err != nil {
			errs = append(errs, err)
			break
		}
		for i := range findings {
			var best *policy.EPSS
			for _, c := range cvesOf(findings[i]) {
				if s, ok := sc.scores[c]; ok && findings[i].Kind == policy.KindVulnerability && (best == nil || s.Probability > best.Probability) {
					best = &s
				}
			}
			findings[i].EPSS = best
		}
		facts.notes = append(facts.notes, fmt.Sprintf("EPSS scores %s of %s: %d of the findings' CVEs scored",
			sc.model, sc.date.UTC().Format(time.DateOnly), len(sc.scores)))
	}
	return facts, errors.Join(errs...)
}

// downloadRisk fetches the KEV catalog and the EPSS scores into the
// offline database directory db (--download-db), each checked before it
// replaces the previous copy: a failed or partial download fails the run
// and never leaves a broken file behind.
func downloadRisk(ctx context.Context, db string, opts Options) error {
	for _, d := range []struct {
		url, file string
		check     func(string) error
	}{
		{cmp.Or(opts.KEVURL, DefaultKEVURL), KEVFile, func(p string) error { _, err := loadKEV(p); return err }},
		{cmp.Or(opts.EPSSURL, DefaultEPSSURL), EPSSFile, func(p string) error { _, err := loadEPSS(p, nil); return err }},
	} {
		if err := download(ctx, opts.HTTPClient, d.url, filepath.Join(db, filepath.FromSlash(d.file)), d.check); err != nil {
			return err
		}
	}
	for _, p := range opts.EOLProducts {
		url := strings.TrimSuffix(cmp.Or(opts.EOLURL, DefaultEOLURL), "/") + "/" + p + ".json"
		if err := download(ctx, opts.HTTPClient, url, filepath.Join(db, "eol", p+".json"), isJSONArray); err != nil {
			return err
		}
	}
	return nil
}

// DefaultEOLURL is endoflife.date's API: /<product>.json per product.
const DefaultEOLURL = "https://endoflife.date/api"

// isJSONArray checks an endoflife.date download: a JSON array of cycles
// (the image checks read it in full).
func isJSONArray(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cycles []map[string]any
	if err := json.Unmarshal(b, &cycles); err != nil || len(cycles) == 0 {
		return fmt.Errorf("not endoflife.date's list of release cycles")
	}
	return nil
}

func download(ctx context.Context, client *http.Client, url, dest string, check func(string) error) error {
	where := redactURL(url)
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("downloading %s: %w", where, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", where, err)
	}
	req.Header.Set("User-Agent", "secgate")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", where, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("downloading %s: %s", where, resp.Status)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), ".download-*")
	if err != nil {
		return fmt.Errorf("downloading %s: %w", where, err)
	}
	defer os.Remove(tmp.Name())
	// 256 MiB is ten times the EPSS file: a bound against a runaway server.
	n, err := io.Copy(tmp, io.LimitReader(resp.Body, 256<<20+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return fmt.Errorf("downloading %s: %w", where, err)
	case n > 256<<20:
		return fmt.Errorf("downloading %s: over 256 MiB", where)
	}
	if err := check(tmp.Name()); err != nil {
		return fmt.Errorf("downloading %s: %w", where, err)
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return fmt.Errorf("downloading %s: %w", where, err)
	}
	return nil
}

// apiModeRiskNote says, when there are advisories a floor could raise,
// that the OSV API mode reads no KEV or EPSS data: the floors were not
// applied, and the report must not read as if they had been.
func apiModeRiskNote(findings []policy.Finding) string {
	for _, f := range findings {
		if f.Kind == policy.KindVulnerability && len(cvesOf(f)) > 0 {
			return "no KEV or EPSS data: they are read from an offline database (--offline-db DIR, filled by --download-db), so known- and likely-exploited advisories were not raised (deps.kev, deps.epss)"
		}
	}
	return ""
}

// riskRefetch is how long a cached KEV or EPSS copy (--cache-dir) is used
// before it is fetched again: CISA updates its catalog on working days,
// FIRST its scores daily.
const riskRefetch = 24 * time.Hour

// fetchRisk fetches, in the OSV API mode, the KEV catalog and the EPSS
// scores of the floors that are on into a directory in the offline
// layout, and returns it for annotateRisk (which judges their age by
// deps.max_db_age, as it does offline files). With an authenticated cache
// (opts.Cache, --cache-dir with its key) a copy fetched within riskRefetch
// is used again, and when a fetch fails the cached copy stands in (its age
// is then what decides). The copies live in the cache as authenticated
// entries, never as plain files: a file planted in the cache directory (a
// KEV catalog with no entries, dated today) would otherwise turn the
// floors off unseen. The files annotateRisk reads are written from those
// entries, or from the download, into CacheDir/risk (so an error names a
// place the user can look) or a temporary directory. A floor that is on
// and has no data fails closed: an exploited advisory must not pass as a
// theoretical one because CISA or FIRST was unreachable. cleanup removes a
// temporary directory.
func fetchRisk(ctx context.Context, opts Options) (dir string, cleanup func(), notes []string, err error) {
	cleanup = func() {}
	if opts.KEVOff && opts.EPSSOff {
		return "", cleanup, []string{"deps.kev and deps.epss are off: no KEV or EPSS data fetched"}, nil
	}
	if opts.Cache != nil && opts.CacheDir != "" {
		dir = filepath.Join(opts.CacheDir, "risk")
	} else {
		if dir, err = os.MkdirTemp("", "secgate-risk-"); err != nil {
			return "", cleanup, nil, fmt.Errorf("fetching KEV and EPSS data: %w", err)
		}
		cleanup = func() { os.RemoveAll(dir) }
	}
	now := cmp.Or(opts.Now, time.Now())
	var errs []error
	for _, d := range []struct {
		off             bool
		what, key, file string
		url             string
		check           func(string) error
	}{
		{opts.KEVOff, "CISA's KEV catalog", "deps.kev", KEVFile, cmp.Or(opts.KEVURL, DefaultKEVURL), func(p string) error { _, err := loadKEV(p); return err }},
		{opts.EPSSOff, "FIRST's EPSS scores", "deps.epss", EPSSFile, cmp.Or(opts.EPSSURL, DefaultEPSSURL), func(p string) error { _, err := loadEPSS(p, nil); return err }},
	} {
		path := filepath.Join(dir, filepath.FromSlash(d.file))
		// Whatever the directory holds was not written by this run: only
		// an authenticated entry or a download may be read.
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("%s: removing the old copy %s: %w", d.what, path, err))
			continue
		}
		if d.off {
			continue
		}
		note, ferr := fetchOne(ctx, opts, now, d.what, d.url, path, d.check)
		if ferr != nil {
			errs = append(errs, fmt.Errorf("%s (the %s floor): %w; failing closed (%s: off turns the floor off; --offline-db reads a local copy)", d.what, d.key, ferr, d.key))
			continue
		}
		notes = append(notes, note)
	}
	return dir, cleanup, notes, errors.Join(errs...)
}

// fetchOne puts one risk file at path: the cache's copy when it is younger
// than riskRefetch, else a download (kept in the cache), else, when the
// download fails, the cache's copy of any age. note says which.
func fetchOne(ctx context.Context, opts Options, now time.Time, what, url, path string, check func(string) error) (note string, err error) {
	key := sha256.Sum256([]byte("risk\x00" + url))
	if opts.Cache != nil {
		if data, warn := opts.Cache.Get("risk", key, now, riskRefetch); data != nil {
			if err := writeRiskFile(path, data); err != nil {
				return "", err
			}
			return fmt.Sprintf("%s: the copy in the cache (fetched within %s), written to %s", what, riskRefetch, path), nil
		} else if warn != "" && opts.Logger != nil {
			opts.Logger.Warn(warn)
		}
	} else {
		// No copy to protect: annotateRisk reads (and so checks) the file
		// next, and parsing it twice would double the run's cost.
		check = func(string) error { return nil }
	}
	ferr := download(ctx, opts.HTTPClient, url, path, check)
	if ferr == nil {
		if opts.Cache != nil {
			if data, err := os.ReadFile(path); err == nil {
				if err := opts.Cache.Put("risk", key, data, now); err != nil && opts.Logger != nil {
					opts.Logger.Warn("keeping "+what+" in the cache", "error", err)
				}
			}
		}
		return fmt.Sprintf("%s fetched from %s", what, redactURL(url)), nil
	}
	if opts.Cache != nil {
		if data, _ := opts.Cache.Get("risk", key, now, 0); data != nil {
			if err := writeRiskFile(path, data); err != nil {
				return "", err
			}
			return fmt.Sprintf("%s: fetching it failed (%v); the copy in the cache (%s) stands in, judged by deps.max_db_age", what, ferr, path), nil
		}
	}
	return "", ferr
}

// writeRiskFile writes a risk file from the cache: a temporary file renamed
// into place, so a run reading the directory never sees half of one.
func writeRiskFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing %s from the cache: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cached-*")
	if err != nil {
		return fmt.Errorf("writing %s from the cache: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing %s from the cache: %w", path, err)
	}
	return nil
}
