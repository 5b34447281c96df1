package pipeline

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/secgate/secgate/gate"
	"github.com/secgate/secgate/gate/report"
)

// writeOtherFiles writes the files asked for besides the report (SARIF,
// GitLab's reports, dotenv, extra: SBOM and VEX), in every outcome; a file
// that cannot be written makes the verdict error (the step's error). A
// path that is also the report's is left to the report (flags that name
// one file twice are an error of their own, see Options.Validate).
func writeOtherFiles(rep *report.Report, o Options, opts report.Options, extra map[string]report.Writer) error {
	files := map[string]report.Writer{}
	if o.SARIFFile != "" {
		files[o.SARIFFile] = report.SARIF{PathPrefix: opts.PathPrefix, Version: o.Version}
	}
	if o.GitLabDir != "" {
		for _, typ := range report.GitLabTypes(*rep) {
			files[filepath.Join(o.GitLabDir, "gl-"+typ+"-report.json")] = report.GitLab{Type: typ, Start: opts.Start, End: opts.End, Version: o.Version, Commit: opts.Commit}
		}
	}
	if o.Dotenv != "" {
		files[o.Dotenv] = report.Dotenv{}
	}
	maps.Copy(files, extra)
	var errs []error
	written := map[string]bool{}
	if o.Report != "" {
		written[filepath.Clean(o.Report)] = true
	}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if written[filepath.Clean(p)] {
			continue
		}
		written[filepath.Clean(p)] = true
		if err := writeFile(p, *rep, files[p]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// files are the SBOM and VEX files to write with the report's other
// files.
func (s SBOMOptions) files(rep report.Report, cfg gate.Config, version string, now time.Time, repository string) map[string]report.Writer {
	repo, author := documentNames(cfg, repository)
	out := map[string]report.Writer{}
	if s.File != "" {
		out = rep.SBOMFiles(s.File, s.Format, repo, version, now)
	}
	if s.VEXOut != "" {
		out[s.VEXOut] = report.VEXWriter{Author: author, Version: version, Time: now}
	}
	return out
}

// documentNames name the documents' subject and author (the files
// written and the attestations --sign attaches): the repository as the
// platform names it, else by its directory; the VEX author is the
// policy's owner, else the repository.
func documentNames(cfg gate.Config, repository string) (repo, author string) {
	abs, _ := filepath.Abs(cfg.Path)
	repo = cmp.Or(repository, filepath.Base(abs))
	var owner string
	if cfg.Policy != nil {
		owner = cfg.Policy.Response.Owner
	}
	return repo, cmp.Or(owner, repo)
}

// WriteReportFile writes the JSON report to path (see writeFile).
func WriteReportFile(path string, rep report.Report) error {
	return writeFile(path, rep, report.JSON{})
}

// writeFile writes the report in a format to a file, its directory made.
func writeFile(path string, rep report.Report, w report.Writer) error {
	var buf bytes.Buffer
	if err := w.Write(&buf, rep); err != nil {
		return fmt.Errorf("writing report %s: %w", path, err)
	}
	// The rendered bytes once more: a format may put text together
	// (a description from a title and a preview) where a value shows.
	out := rep.RedactBytes(buf.Bytes())
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("writing report %s: %w", path, err)
		}
	}
	if err := replaceFile(path, out); err != nil {
		return fmt.Errorf("writing report %s: %w", path, err)
	}
	return nil
}

// replaceFile writes data to a new file beside path and renames it over
// path: a symbolic link a pull request commits at an output's path
// (secgate-report.json -> a file elsewhere, or -> a forged passing report
// that enforce would read) is replaced by the file, never followed.
func replaceFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := errors.Join(f.Chmod(0o644), f.Close()); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}
