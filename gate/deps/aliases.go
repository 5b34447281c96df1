package deps

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
)

// advisory is what scoring needs of an OSV record.
type advisory struct {
	id      string
	vectors []string
	word    string // database_specific.severity
}

// osvRecord is the part of an OSV record that advisory needs.
type osvRecord struct {
	ID       string   `json:"id"`
	Aliases  []string `json:"aliases"`
	Severity []struct {
		Type  string `json:"type"`
		Score string `json:"score"`
	} `json:"severity"`
	Affected []struct {
		Severity []struct {
			Type  string `json:"type"`
			Score string `json:"score"`
		} `json:"severity"`
	} `json:"affected"`
	DatabaseSpecific struct {
		Severity any `json:"severity"`
	} `json:"database_specific"`
}

func (r osvRecord) advisory() *advisory {
	a := &advisory{id: r.ID}
	if w, ok := r.DatabaseSpecific.Severity.(string); ok {
		a.word = w
	}
	for _, s := range r.Severity {
		if s.Type != "Ubuntu" && s.Score != "" {
			a.vectors = append(a.vectors, s.Score)
		}
	}
	for _, af := range r.Affected {
		for _, s := range af.Severity {
			if s.Type != "Ubuntu" && s.Score != "" {
				a.vectors = append(a.vectors, s.Score)
			}
		}
	}
	return a
}

// advisoryLookup finds an advisory by id or alias; nil when there is none.
type advisoryLookup func(ctx context.Context, id string) (*advisory, error)

// aliasLookup returns the lookup for the scan's data source: the offline
// database's zips of the ecosystems found, or the OSV API. The caller
// calls done when the lookups are over.
func (s *Scanner) aliasLookup(opts Options, res vulnResults) (lookup advisoryLookup, done func()) {
	if opts.OfflineDB != "" {
		var once sync.Once
		var db *offlineRecords
		var dbErr error
		lookup = func(_ context.Context, id string) (*advisory, error) {
			once.Do(func() { db, dbErr = openOffline(opts.OfflineDB, res) })
			if dbErr != nil {
				return nil, dbErr
			}
			return db.advisory(id)
		}
		return lookup, func() {
			if db != nil {
				db.close()
			}
		}
	}
	cache := map[string]*advisory{}
	return func(ctx context.Context, id string) (*advisory, error) {
		if a, ok := cache[id]; ok {
			return a, nil
		}
		a, err := s.fetchAdvisory(ctx, id)
		if err != nil {
			return nil, err
		}
		cache[id] = a
		return a, nil
	}, func() {}
}

// offlineRecords finds records by id in the offline database's zips of the
// ecosystems a scan found: each record is the entry <ID>.json, opened
// directly (the zip's directory is read once; no other record is decoded).
type offlineRecords struct {
	zips  []*zip.ReadCloser
	files map[string]*zip.File // "<ID>.json" → entry
	paths map[*zip.File]string // entry → its zip, for messages
}

func openOffline(db string, res vulnResults) (*offlineRecords, error) {
	o := &offlineRecords{files: map[string]*zip.File{}, paths: map[*zip.File]string{}}
	seen := map[string]bool{}
	for _, src := range res.Results {
		for _, p := range src.Packages {
			eco := baseEcosystem(p.Package.Ecosystem)
			if eco == "" || seen[eco] {
				continue
			}
			seen[eco] = true
			path := filepath.Join(db, "osv-scalibr", eco, "all.zip")
			zr, err := zip.OpenReader(path)
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				o.close()
				return nil, fmt.Errorf("reading offline database %s: %w", path, err)
			}
			o.zips = append(o.zips, zr)
			for _, f := range zr.File {
				if _, taken := o.files[f.Name]; !taken {
					o.files[f.Name], o.paths[f] = f, path
				}
			}
		}
	}
	return o, nil
}

// advisory returns the record id, or nil when no zip has it.
func (o *offlineRecords) advisory(id string) (*advisory, error) {
	f, ok := o.files[id+".json"]
	if !ok {
		return nil, nil
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("reading offline database %s: %s: %w", o.paths[f], f.Name, err)
	}
	defer rc.Close()
	var rec osvRecord
	if err := json.NewDecoder(rc).Decode(&rec); err != nil || rec.ID != id {
		// osv-scanner skips records that do not parse, too.
		return nil, nil
	}
	return rec.advisory(), nil
}

func (o *offlineRecords) close() {
	for _, z := range o.zips {
		z.Close()
	}
}

// fetchAdvisory asks the OSV API for a record: GET /v1/vulns/{id}.
func (s *Scanner) fetchAdvisory(ctx context.Context, id string) (*advisory, error) {
	base, err := url.Parse(s.opts.apiURL())
	if err != nil {
		return nil, fmt.Errorf("OSV API URL %s: %w", redactURL(s.opts.apiURL()), err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base.JoinPath("v1", "vulns", id).String(), nil)
	if err != nil {
		return nil, err
	}
	setCredentials(req, base)
	u := redact(req.URL) // what messages show
	req.Header.Set("User-Agent", "secgate")
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL
		}
		return nil, fmt.Errorf("vulnerability data unavailable, failing closed: GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, nil
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("vulnerability data unavailable, failing closed: GET %s: %s", u, resp.Status)
	}
	var rec osvRecord
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&rec); err != nil {
		return nil, fmt.Errorf("vulnerability data unavailable, failing closed: GET %s: malformed answer: %w", u, err)
	}
	if rec.ID != id {
		return nil, fmt.Errorf("vulnerability data unavailable, failing closed: GET %s: asked for %s, the answer is the record %q", u, id, rec.ID)
	}
	return rec.advisory(), nil
}
