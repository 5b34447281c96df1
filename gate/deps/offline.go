package deps

import (
	"archive/zip"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// staleAfter is when offline data is warned about, under deps.max_db_age.
const staleAfter = 3 * 24 * time.Hour

// offlineFacts is what the report says of the offline data a scan used.
type offlineFacts struct {
	notes, warnings []string
}

// checkOfflineCoverage checks the offline data of every ecosystem the scan
// found packages of, because osv-scanner trusts it blindly: a missing zip,
// or a valid zip with no advisory (a failed export, an interrupted sync),
// matches nothing, silently. Both fail closed. The age of the data (the
// newest entry's timestamp in the zip's directory, else the file's
// modification time) is reported, warned about after 3 days and an error
// over opts.MaxDBAge. Records are not decoded: the directory is enough.
func checkOfflineCoverage(db, root string, res vulnResults, opts Options) (offlineFacts, error) {
	var facts offlineFacts
	used := map[string][]string{}
	for _, src := range res.Results {
		for _, p := range src.Packages {
			if eco := baseEcosystem(p.Package.Ecosystem); eco != "" {
				used[eco] = appendUnique(used[eco], relPath(root, src.Source.Path))
			}
		}
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	var errs []error
	for _, eco := range slices.Sorted(maps.Keys(used)) {
		path := filepath.Join(db, "osv-scalibr", eco, "all.zip")
		records, newest, err := zipFacts(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			errs = append(errs, fmt.Errorf("offline database %s has no %s data (osv-scalibr/%s/all.zip) for the packages of %s: failing closed",
				db, eco, eco, strings.Join(used[eco], ", ")))
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("offline database %s: %w: failing closed", path, err))
			continue
		case records == 0:
			errs = append(errs, fmt.Errorf("offline database %s holds no %s advisory (a failed export or an interrupted sync?): failing closed", path, eco))
			continue
		}
		age := now.Sub(newest)
		days := int(age.Hours() / 24)
		facts.notes = append(facts.notes, fmt.Sprintf("offline %s data: %d advisories, as of %s (%d days old)", eco, records, newest.UTC().Format(time.DateOnly), max(days, 0)))
		switch {
		case opts.MaxDBAge <= 0:
		case age > opts.MaxDBAge:
			errs = append(errs, fmt.Errorf("offline database %s: the %s data is %d days old (as of %s), over deps.max_db_age (%s): advisories published since are not known; sync it (--download-db) or change the limit",
				db, eco, days, newest.UTC().Format(time.DateOnly), formatAge(opts.MaxDBAge)))
		case age > staleAfter:
			facts.warnings = append(facts.warnings, fmt.Sprintf("offline %s data is %d days old (as of %s): sync it (--download-db); over deps.max_db_age (%s) the gate fails",
				eco, days, newest.UTC().Format(time.DateOnly), formatAge(opts.MaxDBAge)))
		}
	}
	return facts, errors.Join(errs...)
}

// zipFacts counts the advisories of an ecosystem zip and dates it.
func zipFacts(path string) (records int, newest time.Time, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, time.Time{}, err
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return 0, time.Time{}, err
	}
	defer zr.Close()
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".json") || f.FileInfo().IsDir() {
			continue
		}
		records++
		if f.Modified.After(newest) {
			newest = f.Modified
		}
	}
	// No timestamps in the directory (or none past 1980, zip's epoch): the
	// file's own time, when it was downloaded or synced.
	if newest.Year() <= 1980 {
		newest = fi.ModTime()
	}
	return records, newest, nil
}

// formatAge writes an age as the policy does: 7d, or 36h0m0s.
func formatAge(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
