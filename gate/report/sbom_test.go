package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/policy"
)

var sbomTime = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

// sbomReport has packages of two lockfiles (one library in both), a
// scoped npm name, a Maven coordinate, and an image's OS packages.
func sbomReport() Report {
	r := sample()
	r.Packages = []policy.Package{
		{Name: "lodash", Version: "4.17.15", Ecosystem: "npm", PURL: "pkg:npm/lodash@4.17.15", Source: "package-lock.json"},
		{Name: "@babel/core", Version: "7.24.0", Ecosystem: "npm", PURL: "pkg:npm/%40babel/core@7.24.0", Source: "package-lock.json"},
		{Name: "lodash", Version: "4.17.15", Ecosystem: "npm", PURL: "pkg:npm/lodash@4.17.15", Source: "web/package-lock.json"},
		{Name: "org.apache.logging.log4j:log4j-core", Version: "2.14.1", Ecosystem: "Maven", PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", Source: "pom.xml"},
		{Name: "openssl", Version: "3.0.11-1~deb12u1", Ecosystem: "Debian:12", PURL: "pkg:deb/debian/openssl@3.0.11-1~deb12u1?distro=debian-12", Source: "/var/lib/dpkg/status", Image: "registry.example/app:1", Layer: "0 sha256:aa (debian base)"},
		{Name: "zlib", Version: "1.3-r2", Ecosystem: "Alpine:v3.19", PURL: "pkg:apk/alpine/zlib@1.3-r2?distro=alpine-v3.19", Source: "/lib/apk/db/installed", Image: "registry.example/tools:2"},
	}
	return r
}

// compileSchema compiles one of the official schemas in testdata/schemas,
// with the schemas it references registered under their $id.
func compileSchema(t *testing.T, name string, refs ...string) *jsonschema.Schema {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "schemas")
	c := jsonschema.NewCompiler()
	for _, ref := range refs {
		f, err := os.Open(filepath.Join(dir, ref))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource("http://cyclonedx.org/schema/"+ref, doc); err != nil {
			t.Fatal(err)
		}
	}
	sch, err := c.Compile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, name string, doc []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("%s does not match the official schema: %v", name, err)
	}
}

// Both formats, for the repository and for an image, are valid against
// the official CycloneDX 1.6 and SPDX 2.3 schemas, and golden.
func TestSBOMSchemasAndGolden(t *testing.T) {
	cdxSchema := compileSchema(t, "bom-1.6.SNAPSHOT.schema.json", "spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json")
	spdxSchema := compileSchema(t, "spdx-schema-2.3.json")
	r := sbomReport()
	subjects := r.SBOMSubjects("acme/shop")
	for _, format := range SBOMFormats {
		for i, s := range subjects {
			var b bytes.Buffer
			if err := r.SBOM(&b, format, s, "1.2.3", sbomTime); err != nil {
				t.Fatal(err)
			}
			name := "sbom-" + format + "-" + []string{"repo", "image", "image2"}[i] + ".json"
			if format == SBOMCycloneDX {
				validate(t, cdxSchema, name, b.Bytes())
			} else {
				validate(t, spdxSchema, name, b.Bytes())
			}
			golden(t, name, b.Bytes())
		}
	}
}

// The schemas are not trivially satisfied: a CycloneDX document whose
// component has no name and an SPDX one whose package has no download
// location fail them.
func TestSBOMSchemasRefuse(t *testing.T) {
	cdxSchema := compileSchema(t, "bom-1.6.SNAPSHOT.schema.json", "spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json")
	spdxSchema := compileSchema(t, "spdx-schema-2.3.json")
	r := sbomReport()
	s := r.SBOMSubjects("acme/shop")[0]
	for format, sch := range map[string]*jsonschema.Schema{SBOMCycloneDX: cdxSchema, SBOMSPDX: spdxSchema} {
		var b bytes.Buffer
		if err := r.SBOM(&b, format, s, "1.2.3", sbomTime); err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if format == SBOMCycloneDX {
			delete(doc["components"].([]any)[0].(map[string]any), "name")
		} else {
			delete(doc["packages"].([]any)[1].(map[string]any), "downloadLocation")
		}
		bad, _ := json.Marshal(doc)
		v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(bad))
		if sch.Validate(v) == nil {
			t.Errorf("%s: a broken document passed the schema", format)
		}
	}
}

// Every package is a component with its purl; a purl in two lockfiles is
// one component with both sources; images are their own subjects.
func TestSBOMCoversEveryPackage(t *testing.T) {
	r := sbomReport()
	subjects := r.SBOMSubjects("acme/shop")
	if got := len(subjects); got != 3 {
		t.Fatalf("%d subjects, want the repository and two images", got)
	}
	if subjects[0].Image || !subjects[1].Image || subjects[1].Name != "registry.example/app:1" {
		t.Errorf("subjects in the wrong order or kind: %+v", subjects)
	}
	for _, s := range subjects {
		var b bytes.Buffer
		if err := r.SBOM(&b, SBOMCycloneDX, s, "1.2.3", sbomTime); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Metadata struct {
				Component struct{ Name, Type string }
			}
			Components []struct {
				Purl       string
				Properties []struct{ Name, Value string }
			}
		}
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Metadata.Component.Name != s.Name {
			t.Errorf("metadata.component %q, want %q", doc.Metadata.Component.Name, s.Name)
		}
		var want, got []string
		for _, p := range s.Packages {
			if !slices.Contains(want, p.PURL) {
				want = append(want, p.PURL)
			}
		}
		sources := map[string][]string{}
		for _, c := range doc.Components {
			got = append(got, c.Purl)
			for _, p := range c.Properties {
				if p.Name == PropertySource {
					sources[c.Purl] = append(sources[c.Purl], p.Value)
				}
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: components %v, want %v", s.Name, got, want)
		}
		if s.Name == "acme/shop" && !slices.Equal(sources["pkg:npm/lodash@4.17.15"], []string{"package-lock.json", "web/package-lock.json"}) {
			t.Errorf("lodash sources %v, want both lockfiles", sources["pkg:npm/lodash@4.17.15"])
		}
	}
}

// One file per subject: the first at the path asked for, each image's
// with its name before the extension.
func TestSBOMFiles(t *testing.T) {
	files := sbomReport().SBOMFiles(filepath.Join("out", "sbom.cdx.json"), SBOMCycloneDX, "acme/shop", "1", sbomTime)
	want := []string{filepath.Join("out", "sbom-registry.example_app_1.cdx.json"), filepath.Join("out", "sbom-registry.example_tools_2.cdx.json"), filepath.Join("out", "sbom.cdx.json")}
	if got := slices.Sorted(func(yield func(string) bool) {
		for k := range files {
			if !yield(k) {
				return
			}
		}
	}); !slices.Equal(got, want) {
		t.Errorf("files %v, want %v", got, want)
	}
}

// No SBOM from a deps scan that failed or did not run: it would claim an
// incomplete inventory.
func TestSBOMNeedsACompleteScan(t *testing.T) {
	r := sbomReport()
	w := SBOMWriter{Format: SBOMCycloneDX, Subject: r.SBOMSubjects("x")[0], Time: sbomTime}
	if err := w.Write(&bytes.Buffer{}, r); err != nil {
		t.Fatalf("complete scan: %v", err)
	}
	r.Scanners[1].Status = StatusError
	if err := w.Write(&bytes.Buffer{}, r); err == nil || !strings.Contains(err.Error(), "deps scanner's status is error") {
		t.Errorf("failed deps scan: %v", err)
	}
	r.Scanners = r.Scanners[:1]
	if err := w.Write(&bytes.Buffer{}, r); err == nil {
		t.Error("no deps scan: an SBOM was written")
	}
	if err := r.SBOM(&bytes.Buffer{}, "swid", w.Subject, "1", sbomTime); err == nil || !strings.Contains(err.Error(), `unknown SBOM format "swid"`) {
		t.Errorf("unknown format: %v", err)
	}
}

// A value the redactor knows (a token in a git dependency's version)
// never reaches the SBOM, in either format: the report's redaction (the
// gate's last pass) walks the packages too.
func TestSBOMRedacted(t *testing.T) {
	tok := secretstest.GitHubPAT(t)
	r := sbomReport()
	r.Packages = append(r.Packages, policy.Package{Name: "private", Version: "git+https://" + tok + "@github.com/acme/private", Ecosystem: "npm", PURL: "pkg:npm/private@" + tok, Source: "package-lock.json"})
	Redact(&r, sbomReplacer{tok})
	for _, format := range SBOMFormats {
		var b bytes.Buffer
		if err := r.SBOM(&b, format, r.SBOMSubjects("acme/shop")[0], "1", sbomTime); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b.Bytes(), []byte(tok)) {
			t.Errorf("%s: the token is in the SBOM", format)
		}
		if !bytes.Contains(b.Bytes(), []byte("pkg:npm/private@REDACTED")) {
			t.Errorf("%s: the package is missing", format)
		}
	}
}

type sbomReplacer struct{ s string }

func (r sbomReplacer) Redact(s string) string { return strings.ReplaceAll(s, r.s, "REDACTED") }

// Generating the SBOM of a 2,000-package lockfile: issue 29 bounds it at 50 ms.
func BenchmarkSBOM2000(b *testing.B) {
	r := sample()
	for i := range 2000 {
		v := "1.0." + strings.Repeat("1", i%7+1)
		name := "pkg" + strings.Repeat("x", i%13) + string(rune('a'+i%26)) + strings.Repeat("y", i/26)
		r.Packages = append(r.Packages, policy.Package{Name: name, Version: v, Ecosystem: "npm", PURL: "pkg:npm/" + name + "@" + v, Source: "package-lock.json"})
	}
	s := r.SBOMSubjects("acme/shop")[0]
	for _, format := range SBOMFormats {
		b.Run(format, func(b *testing.B) {
			for b.Loop() {
				if err := r.SBOM(&bytes.Buffer{}, format, s, "1", sbomTime); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
