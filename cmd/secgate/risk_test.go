package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secgate/secgate/policy"
)

// riskDB is an offline database of the shared npm advisories with the
// hand-written KEV catalog and EPSS scores (testdata/risk); kev rewrites
// the catalog ("" leaves it out).
func riskDB(t *testing.T, kev func(string) string) string {
	t.Helper()
	shared := filepath.Join("..", "..", "testdata")
	read := func(p string) []byte {
		b, err := os.ReadFile(filepath.Join(shared, p))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var epss bytes.Buffer
	zw := gzip.NewWriter(&epss)
	zw.Write(read("risk/epss_scores-current.csv"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	db := t.TempDir()
	files := map[string]string{
		"osv-scalibr/PyPI/all.zip":        string(read("osvdb/osv-scalibr/PyPI/all.zip")),
		"epss/epss_scores-current.csv.gz": epss.String(),
	}
	if k := kev(string(read("risk/known_exploited_vulnerabilities.json"))); k != "" {
		files["kev/known_exploited_vulnerabilities.json"] = k
	}
	writeFiles(t, db, files)
	return db
}

func requirements(pkg, version string) map[string]string {
	return map[string]string{"requirements.txt": pkg + "==" + version + "\n"}
}

func unchanged(s string) string { return s }

// Issue 28's done-when, through `secgate run`: a medium advisory listed in
// KEV fails the gate; one with EPSS 0.9 blocks production; `off` turns
// each floor off; stale KEV data fails closed.
func TestRiskFloorsThroughRun(t *testing.T) {
	run := func(t *testing.T, db, pkg, version, id, pol string, args ...string) (result, policy.Finding) {
		t.Helper()
		dir := t.TempDir()
		writeFiles(t, dir, requirements(pkg, version))
		polFile := filepath.Join(t.TempDir(), "policy.yml")
		writeFiles(t, filepath.Dir(polFile), map[string]string{"policy.yml": pol})
		reportPath := filepath.Join(t.TempDir(), "r.json")
		res := secgate(t, nil, append([]string{"run", "--only", "deps", "--offline-db", db, "--policy", polFile, "--report", reportPath, dir}, args...)...)
		rep, _ := readReport(t, reportPath)
		for _, f := range rep.Findings {
			if f.ID == id {
				return res, f
			}
		}
		t.Fatalf("no finding %s\nstdout: %s\nstderr: %s", id, res.stdout, res.stderr)
		return res, policy.Finding{}
	}
	db := riskDB(t, unchanged)
	frozen := "deps: {max_db_age: 0}\n" // testdata/osvdb is a frozen copy

	t.Run("medium in KEV fails the gate", func(t *testing.T) {
		res, f := run(t, riskDB(t, func(string) string { return "" }), "django", "4.2.15", "PYSEC-2024-102", frozen)
		if res.code != 0 || f.Severity != policy.Medium || f.KEV != nil || !strings.Contains(res.stdout, "no KEV data") {
			t.Fatalf("without KEV data: exit %d, %v, %+v\nstdout: %s", res.code, f.Severity, f.KEV, res.stdout)
		}
		res, f = run(t, db, "django", "4.2.15", "PYSEC-2024-102", frozen)
		if res.code != 1 || f.Severity != policy.Critical || f.KEV == nil || f.KEV.CVE != "CVE-2024-45230" ||
			!strings.HasSuffix(f.ScoreSource, "; raised by KEV (deps.kev)") || f.Action != policy.ActionFail {
			t.Errorf("exit %d, %v (%s), kev %+v, action %s\nstderr: %s", res.code, f.Severity, f.ScoreSource, f.KEV, f.Action, res.stderr)
		}
		if !strings.Contains(res.stdout, "Known exploited (CISA KEV since 2026-11-21, used by ransomware)") {
			t.Errorf("the text report does not say it is exploited:\n%s", res.stdout)
		}
		res, f = run(t, db, "django", "4.2.15", "PYSEC-2024-102", "deps: {max_db_age: 0, kev: off}\n")
		if res.code != 0 || f.Severity != policy.Medium || f.KEV == nil {
			t.Errorf("kev: off: exit %d, %v", res.code, f.Severity)
		}
	})

	t.Run("EPSS 0.9 blocks production", func(t *testing.T) {
		res, f := run(t, db, "pyyaml", "5.3", "PYSEC-2020-96", frozen, "--environment", "production")
		if res.code != 1 || f.Severity != policy.High || f.EPSS == nil || f.EPSS.Probability != 0.9 || f.Action != policy.ActionBlockProduction {
			t.Errorf("exit %d, %v (%s), epss %+v\nstderr: %s", res.code, f.Severity, f.ScoreSource, f.EPSS, res.stderr)
		}
		if res, _ := run(t, db, "pyyaml", "5.3", "PYSEC-2020-96", frozen, "--environment", "staging"); res.code != 0 {
			t.Errorf("staging: exit %d", res.code)
		}
		res, f = run(t, db, "pyyaml", "5.3", "PYSEC-2020-96", "deps: {max_db_age: 0, epss: off}\n", "--environment", "production")
		if res.code != 0 || f.Severity != policy.Medium {
			t.Errorf("epss: off: exit %d, %v", res.code, f.Severity)
		}
	})

	t.Run("stale KEV data fails closed", func(t *testing.T) {
		// A limit the frozen OSV data is within, a catalog past it.
		days := int(time.Since(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)).Hours()/24) + 2
		released := time.Now().AddDate(0, 0, -days-3).UTC().Format("2006-01-02T15:04:05.0000Z")
		stale := riskDB(t, func(s string) string {
			return strings.Replace(s, `"dateReleased": "2026-11-24T17:02:11.2213Z"`, `"dateReleased": "`+released+`"`, 1)
		})
		dir := t.TempDir()
		writeFiles(t, dir, requirements("django", "4.2.15"))
		writeFiles(t, dir, map[string]string{".secgate.yml": fmt.Sprintf("deps: {max_db_age: %dd}\n", days)})
		res := secgate(t, nil, "run", "--only", "deps", "--offline-db", stale, dir)
		want := filepath.Join(stale, "kev", "known_exploited_vulnerabilities.json") + fmt.Sprintf(" is %d days old", days+3)
		if res.code != 2 || !strings.Contains(res.stderr+res.stdout, want) {
			t.Errorf("exit %d, want 2 naming %q\nstdout: %s\nstderr: %s", res.code, want, res.stdout, res.stderr)
		}
		// The same run with the catalog of the fixture's date passes the limit.
		if res := secgate(t, nil, "run", "--only", "deps", "--offline-db", db, dir); res.code != 1 {
			t.Errorf("fresh: exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
	})
}
