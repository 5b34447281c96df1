package deps

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
