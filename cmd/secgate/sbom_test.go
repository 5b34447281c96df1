package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --sbom writes the deps scanner's packages as CycloneDX (default) or
// SPDX, named after the platform's repository; SECGATE_SBOM_FORMAT is
// the flag's twin; an unknown format is an error (exit 2) and no file.
func TestRunWritesSBOM(t *testing.T) {
	dir, work := t.TempDir(), t.TempDir()
	lock, err := os.ReadFile(filepath.Join("..", "..", "gate", "deps", "testdata", "npm", "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"package-lock.json": string(lock)})
	writeFiles(t, work, map[string]string{"policy.yml": "deps: {max_db_age: 0}\n"}) // testdata/osvdb is a frozen copy
	db, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "osvdb"))
	args := func(file string) []string {
		return []string{"run", "--only", "deps", "--offline-db", db, "--policy", filepath.Join(work, "policy.yml"), "--format", "json", "--sbom", file, dir}
	}
	cdxFile := filepath.Join(work, "out", "sbom.cdx.json")
	res := secgate(t, map[string]string{"GITHUB_REPOSITORY": "acme/shop"}, args(cdxFile)...)
	if res.code == 2 {
		t.Fatalf("exit 2: %s", res.stderr)
	}
	var cdx struct {
		SpecVersion string
		Metadata    struct{ Component struct{ Name string } }
		Components  []struct{ Purl string }
	}
	b, err := os.ReadFile(cdxFile)
	if err != nil {
		t.Fatalf("no SBOM written: %v", err)
	}
	if err := json.Unmarshal(b, &cdx); err != nil {
		t.Fatal(err)
	}
	if cdx.SpecVersion != "1.6" || cdx.Metadata.Component.Name != "acme/shop" || len(cdx.Components) != 3 {
		t.Errorf("CycloneDX SBOM: spec %s, subject %q, %d components (want 1.6, acme/shop, 3)", cdx.SpecVersion, cdx.Metadata.Component.Name, len(cdx.Components))
	}

	spdxFile := filepath.Join(work, "sbom.spdx.json")
	res = secgate(t, map[string]string{"SECGATE_SBOM_FORMAT": "spdx"}, args(spdxFile)...)
	var spdx struct {
		SPDXVersion string `json:"spdxVersion"`
		Name        string `json:"name"`
		Packages    []any  `json:"packages"`
	}
	if b, err = os.ReadFile(spdxFile); err != nil {
		t.Fatalf("no SPDX SBOM written (exit %d): %v %s", res.code, err, res.stderr)
	}
	if err := json.Unmarshal(b, &spdx); err != nil {
		t.Fatal(err)
	}
	if spdx.SPDXVersion != "SPDX-2.3" || spdx.Name != filepath.Base(dir) || len(spdx.Packages) != 4 {
		t.Errorf("SPDX SBOM: %s, %q, %d packages (want SPDX-2.3, the directory's name, the subject and 3)", spdx.SPDXVersion, spdx.Name, len(spdx.Packages))
	}

	bad := filepath.Join(work, "bad.json")
	res = secgate(t, nil, append(args(bad), "--sbom-format", "swid")...)
	if res.code != 2 || !strings.Contains(res.stdout+res.stderr, `unknown SBOM format \"swid\"`) && !strings.Contains(res.stdout+res.stderr, `unknown SBOM format "swid"`) {
		t.Errorf("unknown format: exit %d, %s %s", res.code, res.stdout, res.stderr)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Error("a file was written for an unknown format")
	}
}
