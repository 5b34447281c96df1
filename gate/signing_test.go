package gate

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/gate/sign"
	"github.com/secgate/secgate/policy"
)

type fakeSigner struct {
	signed     []string
	statements [][]byte   // the verdict statement of each image
	documents  [][][]byte // the other statements of each image
	fail       error
}

func (f *fakeSigner) Identity() string { return "key sha256:test" }
func (f *fakeSigner) Sign(_ context.Context, d string, sts ...[]byte) (sign.Result, error) {
	if f.fail != nil {
		return sign.Result{}, f.fail
	}
	f.signed = append(f.signed, d)
	f.statements = append(f.statements, sts[0])
	f.documents = append(f.documents, sts[1:])
	return sign.Result{Image: d, Signature: "sig", Attestation: "att"}, nil
}

const (
	dgA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	dgI = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
)

func signReport(verdict policy.Verdict) *report.Report {
	rep := report.New()
	rep.Verdict = verdict
	rep.Environment = "production"
	rep.Policy = &report.PolicySource{File: ".secgate.yml", Digest: dgA}
	rep.Counts.Medium = 1
	rep.Scanners = []report.Scanner{{Name: "secrets", Status: report.StatusOK}, {Name: "deps", Status: report.StatusOK, Findings: 2}}
	rep.Findings = []policy.Finding{
		{Rule: "GHSA-x", Fingerprint: "vuln-2", Action: policy.ActionIgnored, Ignored: &policy.Ignored{Reason: "not reachable", Expires: "2027-01-31"}},
		{Rule: "GHSA-y", Fingerprint: "vuln-1", Action: policy.ActionFileIssue},
	}
	rep.Images = []policy.CheckedImage{
		{Reference: "ghcr.io/acme/app:1.0", Repository: "ghcr.io/acme/app", Images: []policy.PlatformImage{{Digest: dgA}}},
		{Reference: "ghcr.io/acme/multi:2", Repository: "ghcr.io/acme/multi", IndexDigest: dgI, Images: []policy.PlatformImage{{Platform: "linux/amd64", Digest: dgA}, {Platform: "linux/arm64", Digest: dgA}}},
		{Reference: "docker-archive:app.tar", Repository: "acme/app", Images: []policy.PlatformImage{{Digest: dgA}}},
	}
	return &rep
}

func TestSignImagesOnlyWhenPassing(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		verdict policy.Verdict
		opts    SignOptions
		reason  string
	}{
		{"fail", policy.VerdictFail, SignOptions{}, "the verdict is fail"},
		{"block-production", policy.VerdictBlockProduction, SignOptions{}, "only images that pass"},
		{"error", policy.VerdictError, SignOptions{}, "the verdict is error"},
		{"dry run", policy.VerdictPass, SignOptions{DryRun: true}, "dry run: would sign ghcr.io/acme/app@" + dgA},
		{"fork", policy.VerdictPass, SignOptions{Unavailable: "a fork's pull request gets no signing credentials"}, "fork"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSigner{}
			o := tc.opts
			if o.Unavailable == "" {
				o.NewSigner = func(context.Context) (Signer, error) { return f, nil }
			}
			rep := signReport(tc.verdict)
			if err := SignImages(ctx, rep, o); err != nil {
				t.Fatal(err)
			}
			if len(f.signed) != 0 || rep.Signature.Signed || !strings.Contains(rep.Signature.Reason, tc.reason) {
				t.Fatalf("signed %v, signature %+v", f.signed, rep.Signature)
			}
		})
	}

	f := &fakeSigner{}
	rep := signReport(policy.VerdictPass)
	err := SignImages(ctx, rep, SignOptions{NewSigner: func(context.Context) (Signer, error) { return f, nil }, Version: "1.2.3", Commit: "abc", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	// By digest: the single image's, the index's; never the archive.
	want := []string{"ghcr.io/acme/app@" + dgA, "ghcr.io/acme/multi@" + dgI}
	if strings.Join(f.signed, " ") != strings.Join(want, " ") {
		t.Fatalf("signed %v, want %v", f.signed, want)
	}
	sig := rep.Signature
	if sig.Signed || sig.Image != want[0] || !sig.Images[0].Signed || !sig.Images[1].Signed || sig.Images[2].Signed ||
		!strings.Contains(sig.Images[2].Reason, "not in a registry") || sig.Identity != "key sha256:test" {
		t.Fatalf("signature %+v", sig)
	}
	var st sign.Statement
	if err := json.Unmarshal(f.statements[1], &st); err != nil {
		t.Fatal(err)
	}
	p := st.Predicate
	if st.PredicateType != sign.PredicateType || st.Subject[0].Name != "ghcr.io/acme/multi" || st.Subject[0].Digest["sha256"] != dgI[7:] ||
		p.Verdict != "pass" || p.Environment != "production" || p.Counts["medium"] != 1 || p.Policy.Digest != dgA ||
		!p.Time.Equal(now) || p.Commit != "abc" || p.Gate.Version != "1.2.3" || len(p.Scanners) != 2 || p.Scanners[1].Findings != 2 ||
		len(p.Exceptions) != 1 || p.Exceptions[0].Reason != "not reachable" || p.Exceptions[0].Expires != "2027-01-31" {
		t.Fatalf("statement %s", f.statements[1])
	}

	// A push that fails is an error, and the report says which image.
	rep = signReport(policy.VerdictPass)
	err = SignImages(ctx, rep, SignOptions{NewSigner: func(context.Context) (Signer, error) {
		return &fakeSigner{fail: errors.New("pushing the signature: 401 Unauthorized")}, nil
	}})
	if err == nil || rep.Signature.Signed || !strings.Contains(rep.Signature.Images[0].Reason, "401") {
		t.Fatalf("err %v, signature %+v", err, rep.Signature)
	}
	// No identity when one is due: an error.
	rep = signReport(policy.VerdictPass)
	err = SignImages(ctx, rep, SignOptions{NewSigner: func(context.Context) (Signer, error) { return nil, errors.New("Fulcio said 401") }})
	if err == nil || !strings.Contains(rep.Signature.Reason, "Fulcio said 401") {
		t.Fatalf("err %v, signature %+v", err, rep.Signature)
	}
}

// Each signed image carries its own SBOM (the packages the deps scanner
// found in it, named after it: never the repository's or another image's)
// and the VEX document of the exceptions on its or the repository's
// packages, whether or not --sbom or --vex-out asked for files.
func TestSignImagesAttachEachImagesDocuments(t *testing.T) {
	ctx := context.Background()
	rep := signReport(policy.VerdictPass)
	app, multi := rep.Images[0].Reference, rep.Images[1].Reference
	rep.Packages = []policy.Package{
		{Name: "lodash", Version: "4.17.15", Ecosystem: "npm", PURL: "pkg:npm/lodash@4.17.15", Source: "package-lock.json"},
		{Name: "openssl", Version: "3.0.11", Ecosystem: "Debian:12", PURL: "pkg:deb/debian/openssl@3.0.11?distro=debian-12", Source: "/var/lib/dpkg/status", Image: app},
		{Name: "zlib1g", Version: "1.2.13", Ecosystem: "Debian:12", PURL: "pkg:deb/debian/zlib1g@1.2.13?distro=debian-12", Source: "/var/lib/dpkg/status", Image: multi},
		{Name: "busybox", Version: "1.36", Ecosystem: "Alpine:v3.20", PURL: "pkg:apk/alpine/busybox@1.36", Source: "/lib/apk/db/installed", Image: multi},
	}
	exception := func(id, purl, image string) policy.Finding {
		return policy.Finding{ID: id, Rule: id, Kind: policy.KindVulnerability, Fingerprint: "vuln-" + id, Action: policy.ActionIgnored,
			Location: policy.Location{PURL: purl, Image: image}, Ignored: &policy.Ignored{Reason: "vulnerable_code_not_in_execute_path", Source: ".secgate.yml"}}
	}
	rep.Findings = []policy.Finding{
		exception("GHSA-tree", "pkg:npm/lodash@4.17.15", ""),
		exception("CVE-app", "pkg:deb/debian/openssl@3.0.11?distro=debian-12", app),
		exception("CVE-multi", "pkg:deb/debian/zlib1g@1.2.13?distro=debian-12", multi),
	}
	type docs struct {
		bomName, vexAuthor string
		purls, vulns       []string
		types              []string
	}
	attached := func(t *testing.T, f *fakeSigner, i int) docs {
		t.Helper()
		var out docs
		for _, raw := range f.documents[i] {
			var st struct {
				PredicateType string `json:"predicateType"`
				Subject       []sign.Subject
				Predicate     struct {
					Metadata struct{ Component struct{ Name string } } // CycloneDX
					Name     string                                    // SPDX
					Packages []struct {
						ExternalRefs []struct{ ReferenceLocator string }
					}
					Components []struct{ Purl string }
					Author     string
					Statements []struct {
						Vulnerability struct{ Name string }
					}
				}
			}
			if err := json.Unmarshal(raw, &st); err != nil {
				t.Fatal(err)
			}
			if st.Subject[0].Digest["sha256"] != strings.TrimPrefix(f.signed[i][strings.Index(f.signed[i], "@")+1:], "sha256:") {
				t.Errorf("%s: a statement about %v", f.signed[i], st.Subject)
			}
			out.types = append(out.types, st.PredicateType)
			p := st.Predicate
			switch st.PredicateType {
			case sign.PredicateCycloneDX:
				out.bomName = p.Metadata.Component.Name
				for _, c := range p.Components {
					out.purls = append(out.purls, c.Purl)
				}
			case sign.PredicateSPDX:
				out.bomName = p.Name
				for _, pkg := range p.Packages {
					for _, r := range pkg.ExternalRefs {
						out.purls = append(out.purls, r.ReferenceLocator)
					}
				}
			case sign.PredicateOpenVEX:
				out.vexAuthor = p.Author
				for _, s := range p.Statements {
					out.vulns = append(out.vulns, s.Vulnerability.Name)
				}
			}
		}
		slices.Sort(out.purls)
		slices.Sort(out.vulns)
		return out
	}

	for _, format := range []string{"", report.SBOMSPDX} {
		t.Run("format "+format, func(t *testing.T) {
			f := &fakeSigner{}
			r := *rep
			if err := SignImages(ctx, &r, SignOptions{NewSigner: func(context.Context) (Signer, error) { return f, nil }, SBOMFormat: format, VEXAuthor: "@acme/security", Version: "1"}); err != nil {
				t.Fatal(err)
			}
			sbomType := sign.PredicateCycloneDX
			if format == report.SBOMSPDX {
				sbomType = sign.PredicateSPDX
			}
			want := []docs{
				{bomName: app, vexAuthor: "@acme/security", purls: []string{"pkg:deb/debian/openssl@3.0.11?distro=debian-12"}, vulns: []string{"CVE-app", "GHSA-tree"}},
				{bomName: multi, vexAuthor: "@acme/security", purls: []string{"pkg:apk/alpine/busybox@1.36", "pkg:deb/debian/zlib1g@1.2.13?distro=debian-12"}, vulns: []string{"CVE-multi", "GHSA-tree"}},
			}
			if len(f.documents) != len(want) {
				t.Fatalf("%d images signed, want %d", len(f.documents), len(want))
			}
			for i, w := range want {
				w.types = []string{sbomType, sign.PredicateOpenVEX}
				if got := attached(t, f, i); !reflect.DeepEqual(got, w) {
					t.Errorf("%s carries\n%+v\nwant\n%+v", f.signed[i], got, w)
				}
			}
		})
	}

	t.Run("no complete deps scan, no SBOM", func(t *testing.T) {
		for _, scanners := range [][]report.Scanner{
			{{Name: "image", Status: report.StatusOK}},
			{{Name: "deps", Status: report.StatusSkipped}},
		} {
			f := &fakeSigner{}
			r := *rep
			r.Scanners, r.Warnings = scanners, nil
			if err := SignImages(ctx, &r, SignOptions{NewSigner: func(context.Context) (Signer, error) { return f, nil }}); err != nil {
				t.Fatal(err)
			}
			if got := attached(t, f, 0).types; !slices.Equal(got, []string{sign.PredicateOpenVEX}) || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "no SBOM attestation: the deps scanner") {
				t.Errorf("%v: attached %v, warnings %q", scanners, got, r.Warnings)
			}
		}
	})

	t.Run("an image with no packages has an empty SBOM of its own", func(t *testing.T) {
		f := &fakeSigner{}
		r := *rep
		r.Packages = rep.Packages[:1] // the repository's only
		if err := SignImages(ctx, &r, SignOptions{NewSigner: func(context.Context) (Signer, error) { return f, nil }}); err != nil {
			t.Fatal(err)
		}
		if got := attached(t, f, 0); got.bomName != app || len(got.purls) != 0 {
			t.Errorf("attached %+v, want an SBOM of %s without components", got, app)
		}
	})
}
