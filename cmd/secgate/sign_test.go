package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secgate/secgate/gate/image/imagetest"
	"github.com/secgate/secgate/gate/sign"
	"github.com/secgate/secgate/gate/sign/signtest"
	"github.com/secgate/secgate/policy"
)

// The signing acceptance test: a passing image ends up signed with a
// verdict attestation that `secgate verify` accepts; a failing one has no
// signature; a bad key is exit 2 with nothing pushed.
func TestSignAndVerify(t *testing.T) {
	host := signtest.Registry(t)
	good := imagetest.Build(t, imagetest.Spec{Layers: []map[string]string{{"app/server.js": "listen(8080)\n"}}, User: "10001"})
	root := imagetest.Build(t, imagetest.Spec{Layers: []map[string]string{{"app/server.js": "listen(8081)\n"}}})
	goodRef := imagetest.Push(t, host+"/app:1", good)
	imagetest.Push(t, host+"/rooted:1", root)

	dir := t.TempDir()
	const password = "correct-horse-battery-staple"
	priv, pub := signtest.KeyPair(t, password)
	keyFile, pubFile := filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	writeFiles(t, dir, map[string]string{"cosign.key": string(priv), "cosign.pub": string(pub)})
	src := t.TempDir()
	env := map[string]string{"CI": "true", "COSIGN_PASSWORD": password}
	gate := func(t *testing.T, env map[string]string, ref string, extra ...string) (result, string) {
		t.Helper()
		rp := filepath.Join(t.TempDir(), "r.json")
		args := append([]string{"run", "--only", "image", "--image", ref, "--environment", "production", "--sign", "--report", rp}, extra...)
		return secgate(t, env, append(args, src)...), rp
	}

	t.Run("a passing image is signed and verifies", func(t *testing.T) {
		res, rp := gate(t, env, host+"/app:1", "--sign-key", keyFile, "--tlog-upload=false")
		if res.code != 0 {
			t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
		}
		rep, raw := readReport(t, rp)
		sig := rep.Signature
		if sig == nil || !sig.Signed || sig.Image != goodRef || len(sig.Images) != 1 || !strings.HasSuffix(sig.Images[0].Signature, ".sig") {
			t.Fatalf("signature %s", raw)
		}
		if !strings.Contains(res.stdout, "signed "+goodRef) {
			t.Errorf("the text report does not say what was signed:\n%s", res.stdout)
		}
		for name, out := range map[string]string{"stdout": res.stdout, "stderr": res.stderr, "report": string(raw)} {
			for i := 0; i+6 <= len(password); i++ {
				if strings.Contains(out, password[i:i+6]) {
					t.Fatalf("%s shows a piece of the key's password", name)
				}
			}
		}
		v := secgate(t, nil, "verify", host+"/app:1", "--key", pubFile, "--tlog-upload=false", "--environment", "production", "--max-age", "1h")
		if v.code != 0 || !strings.Contains(v.stdout, "VERIFIED "+goodRef) || !strings.Contains(v.stdout, "verdict pass (production)") {
			t.Fatalf("verify: exit %d\n%s\n%s", v.code, v.stdout, v.stderr)
		}
		// cosign's spelling of --tlog-upload=false (issue 27, item 11).
		v = secgate(t, nil, "verify", host+"/app:1", "--key", pubFile, "--insecure-ignore-tlog", "--format", "json")
		var out struct {
			Image   string
			Verdict struct{ Verdict, Environment string }
		}
		if err := json.Unmarshal([]byte(v.stdout), &out); err != nil || out.Image != goodRef || out.Verdict.Verdict != "pass" {
			t.Fatalf("verify --format json: %v\n%s", err, v.stdout)
		}
		v = secgate(t, nil, "verify", host+"/app:1", "--key", pubFile, "--tlog-upload=false", "--environment", "staging")
		if v.code != 1 || !strings.HasPrefix(v.stdout, "NOT VERIFIED") || strings.Count(v.stdout, "\n") != 1 {
			t.Fatalf("verify for another environment: exit %d\n%s", v.code, v.stdout)
		}
	})

	t.Run("a failing image is never signed", func(t *testing.T) {
		res, rp := gate(t, env, host+"/rooted:1", "--sign-key", keyFile, "--tlog-upload=false")
		if res.code != 1 {
			t.Fatalf("exit %d\n%s", res.code, res.stderr)
		}
		rep, _ := readReport(t, rp)
		if rep.Signature == nil || rep.Signature.Signed || !strings.Contains(rep.Signature.Reason, "only images that pass are signed") {
			t.Fatalf("signature %+v", rep.Signature)
		}
		if tags := signtest.Tags(t, host+"/rooted"); len(tags) != 1 {
			t.Fatalf("tags %v: something was pushed for a failing image", tags)
		}
		v := secgate(t, nil, "verify", host+"/rooted:1", "--key", pubFile, "--tlog-upload=false")
		if v.code != 1 || !strings.Contains(v.stdout, "no valid signature") {
			t.Fatalf("verify: exit %d\n%s%s", v.code, v.stdout, v.stderr)
		}
	})

	t.Run("a bad key is exit 2 and nothing is pushed", func(t *testing.T) {
		before := signtest.Tags(t, host+"/app")
		imagetest.Push(t, host+"/fresh:1", imagetest.Build(t, imagetest.Spec{Layers: []map[string]string{{"a": "b"}}, User: "1"}))
		bad := map[string]string{"CI": "true", "COSIGN_PASSWORD": "wrong-password"}
		res, rp := gate(t, bad, host+"/fresh:1", "--sign-key", keyFile, "--tlog-upload=false")
		if res.code != 2 || !strings.Contains(res.stderr, "cosign.key") || !strings.Contains(res.stderr, "wrong password") {
			t.Fatalf("exit %d\n%s", res.code, res.stderr)
		}
		rep, _ := readReport(t, rp)
		if rep.Verdict != "error" || rep.DeployAllowed || rep.Signature == nil || rep.Signature.Signed {
			t.Fatalf("report %+v", rep)
		}
		if tags := signtest.Tags(t, host+"/fresh"); len(tags) != 1 || !slices.Equal(before, signtest.Tags(t, host+"/app")) {
			t.Fatalf("tags %v after a bad key", tags)
		}
		v := secgate(t, nil, "verify", host+"/app:1", "--key", filepath.Join(dir, "missing.pub"))
		if v.code != 2 {
			t.Fatalf("verify with a missing key file: exit %d", v.code)
		}
	})

	t.Run("COSIGN_PRIVATE_KEY as cosign users store it", func(t *testing.T) {
		e := map[string]string{"CI": "true", "COSIGN_PASSWORD": password, "COSIGN_PRIVATE_KEY": string(priv), "SECGATE_TLOG_UPLOAD": "false"}
		res, rp := gate(t, e, host+"/app:1")
		rep, _ := readReport(t, rp)
		if res.code != 0 || rep.Signature == nil || !rep.Signature.Signed {
			t.Fatalf("exit %d, signature %+v\n%s", res.code, rep.Signature, res.stderr)
		}
	})

	t.Run("dry run and no identity sign nothing", func(t *testing.T) {
		res, rp := gate(t, map[string]string{}, host+"/app:1", "--sign-key", keyFile)
		rep, _ := readReport(t, rp)
		if res.code != 0 || rep.Signature == nil || !strings.Contains(rep.Signature.Reason, "dry run: would sign "+goodRef) {
			t.Fatalf("dry run: exit %d, signature %+v", res.code, rep.Signature)
		}
		res, rp = gate(t, map[string]string{"CI": "true"}, host+"/app:1")
		rep, _ = readReport(t, rp)
		if res.code != 0 || rep.Signature == nil || rep.Signature.Signed || !strings.Contains(rep.Signature.Reason, "no signing identity") ||
			len(rep.Warnings) == 0 {
			t.Fatalf("no identity: exit %d, signature %+v, warnings %v", res.code, rep.Signature, rep.Warnings)
		}
	})

	t.Run("keyless", func(t *testing.T) {
		ss := signtest.NewSigstore(t)
		id := "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
		e := map[string]string{"CI": "true", "SIGSTORE_ID_TOKEN": ss.Token(id)}
		res, rp := gate(t, e, host+"/app:1", "--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL, "--trusted-root", ss.TrustedRoot)
		rep, raw := readReport(t, rp)
		if res.code != 0 || rep.Signature == nil || !rep.Signature.Signed || !strings.Contains(rep.Signature.Identity, id) ||
			rep.Signature.Images[0].TlogIndex == nil {
			t.Fatalf("exit %d\n%s\n%s", res.code, raw, res.stderr)
		}
		v := secgate(t, nil, "verify", host+"/app:1", "--certificate-identity", id, "--certificate-oidc-issuer", ss.Issuer, "--trusted-root", ss.TrustedRoot)
		if v.code != 0 {
			t.Fatalf("verify: exit %d\n%s%s", v.code, v.stdout, v.stderr)
		}
		v = secgate(t, nil, "verify", host+"/app:1", "--certificate-identity-regexp", "^https://github.com/evil/", "--certificate-oidc-issuer", ss.Issuer, "--trusted-root", ss.TrustedRoot)
		if v.code != 1 {
			t.Fatalf("verify another identity: exit %d\n%s%s", v.code, v.stdout, v.stderr)
		}
	})
}

// npmInstalled is the hidden lockfile npm leaves in node_modules, as an
// image built with `npm ci` holds it.
func npmInstalled(pkgs ...string) string {
	var b strings.Builder
	b.WriteString(`{"name":"app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{`)
	for i := 0; i+1 < len(pkgs); i += 2 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"node_modules/` + pkgs[i] + `":{"version":"` + pkgs[i+1] + `"}`)
	}
	b.WriteString("}}")
	return b.String()
}

// With --sign, each image that passes carries its own SBOM and the VEX
// document of the exceptions beside the verdict, without --sbom or
// --vex-out; cosign's library verifies them, secgate verify lists them
// and --require sbom,vex accepts them, and refuses an image signed by a
// run that had no deps scan.
func TestSignAttachesSBOMAndVEX(t *testing.T) {
	host := signtest.Registry(t)
	layers := func(pkgs ...string) imagetest.Spec {
		return imagetest.Spec{Layers: []map[string]string{
			{"app/server.js": "listen(8080)\n"},
			{"app/node_modules/.package-lock.json": npmInstalled(pkgs...)},
		}, User: "10001"}
	}
	shop := imagetest.Push(t, host+"/shop:1", imagetest.Build(t, layers("lodash", "4.17.15")))
	tools := imagetest.Push(t, host+"/tools:1", imagetest.Build(t, layers("left-pad", "1.3.0", "is-number", "7.0.0")))

	dir, src := t.TempDir(), t.TempDir()
	const password = "attest-pw"
	priv, pub := signtest.KeyPair(t, password)
	keyFile, pubFile := filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	// lodash 4.17.15's three advisories, each a reviewed exception.
	pol := "deps: {max_db_age: 0}\nowner: \"@acme/security\"\nexceptions:\n"
	for _, id := range []string{"GHSA-35jh-r3h4-6jhm", "GHSA-29mw-wpgm-hmr9", "GHSA-p6mc-m468-83gw"} {
		pol += "  - id: " + id + "\n    reason: vulnerable_code_not_in_execute_path (template helpers unused)\n    expires: 2099-01-01\n"
	}
	writeFiles(t, dir, map[string]string{"cosign.key": string(priv), "cosign.pub": string(pub), "policy.yml": pol})
	db, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "osvdb"))
	env := map[string]string{"CI": "true", "COSIGN_PASSWORD": password, "GITHUB_REPOSITORY": "acme/shop"}
	rp := filepath.Join(dir, "r.json")
	res := secgate(t, env, "run", "--only", "image,deps", "--image", host+"/shop:1,"+host+"/tools:1", "--offline-db", db, "--policy", filepath.Join(dir, "policy.yml"),
		"--sign", "--sign-key", keyFile, "--tlog-upload=false", "--sbom-format", "spdx", "--report", rp, src)
	rep, raw := readReport(t, rp)
	if res.code != 0 || rep.Signature == nil || !rep.Signature.Signed {
		t.Fatalf("exit %d\n%s\n%s", res.code, raw, res.stderr)
	}
	if !strings.Contains(res.stdout, "attestations of the verdict, the SBOM (SPDX) and the VEX document in ") {
		t.Errorf("the text report does not say what was attested:\n%s", res.stdout)
	}
	for i, img := range rep.Signature.Images {
		if !slices.Equal(img.Attestations, []string{sign.PredicateType, sign.PredicateSPDX, sign.PredicateOpenVEX}) {
			t.Errorf("image %d: attestations %v", i, img.Attestations)
		}
	}

	// Each image's SBOM is that image's: its name, its packages.
	for ref, want := range map[string][]string{
		shop:  {"pkg:npm/lodash@4.17.15"},
		tools: {"pkg:npm/is-number@7.0.0", "pkg:npm/left-pad@1.3.0"},
	} {
		sts := signtest.VerifiedStatements(t, ref, pub, sign.PredicateSPDX)
		if len(sts) != 1 {
			t.Fatalf("%s: %d SPDX attestations", ref, len(sts))
		}
		var doc struct {
			Name     string
			Packages []struct {
				ExternalRefs []struct{ ReferenceLocator string }
			}
		}
		if err := json.Unmarshal(sts[0].Predicate, &doc); err != nil {
			t.Fatal(err)
		}
		var purls []string
		for _, p := range doc.Packages {
			for _, r := range p.ExternalRefs {
				purls = append(purls, r.ReferenceLocator)
			}
		}
		slices.Sort(purls)
		image, _, _ := strings.Cut(ref, "@")
		if !strings.HasSuffix(doc.Name, strings.TrimPrefix(image, host)+":1") || !slices.Equal(purls, want) {
			t.Errorf("%s: the SBOM of %q with %v, want %v", ref, doc.Name, purls, want)
		}
		vex := signtest.VerifiedStatements(t, ref, pub, sign.PredicateOpenVEX)
		if len(vex) != 1 {
			t.Fatalf("%s: %d VEX attestations", ref, len(vex))
		}
		doc2, err := policy.ParseVEX("attestation", vex[0].Predicate)
		if err != nil {
			t.Fatalf("%s: the VEX attestation does not read back: %v", ref, err)
		}
		wantStatements := 0
		if ref == shop {
			wantStatements = 3
		}
		if len(doc2.Statements) != wantStatements {
			t.Errorf("%s: %d VEX statements, want %d: %s", ref, len(doc2.Statements), wantStatements, vex[0].Predicate)
		}
	}

	v := secgate(t, nil, "verify", host+"/shop:1", "--key", pubFile, "--tlog-upload=false", "--require", "sbom,vex")
	if v.code != 0 || !strings.Contains(v.stdout, "attestations: verdict, sbom ("+sign.PredicateSPDX+"), vex ("+sign.PredicateOpenVEX+")") {
		t.Fatalf("verify --require sbom,vex: exit %d\n%s%s", v.code, v.stdout, v.stderr)
	}

	// Signed by a run without the deps scanner: the verdict and VEX only,
	// a warning, and --require sbom refuses the image.
	imagetest.Push(t, host+"/bare:1", imagetest.Build(t, layers("left-pad", "1.3.0")))
	res = secgate(t, env, "run", "--only", "image", "--image", host+"/bare:1", "--sign", "--sign-key", keyFile, "--tlog-upload=false", "--report", rp, src)
	rep, raw = readReport(t, rp)
	if res.code != 0 || !rep.Signature.Signed || !strings.Contains(strings.Join(rep.Warnings, "\n"), "no SBOM attestation: the deps scanner did not run") {
		t.Fatalf("exit %d\n%s", res.code, raw)
	}
	v = secgate(t, nil, "verify", host+"/bare:1", "--key", pubFile, "--tlog-upload=false", "--require", "sbom")
	if v.code != 1 || !strings.Contains(v.stdout, "NOT VERIFIED") || !strings.Contains(v.stdout, "no SBOM attestation") {
		t.Fatalf("verify --require sbom of an image without one: exit %d\n%s%s", v.code, v.stdout, v.stderr)
	}
	v = secgate(t, nil, "verify", host+"/bare:1", "--key", pubFile, "--tlog-upload=false", "--require", "vex")
	if v.code != 0 {
		t.Fatalf("verify --require vex: exit %d\n%s%s", v.code, v.stdout, v.stderr)
	}
	v = secgate(t, nil, "verify", host+"/bare:1", "--key", pubFile, "--tlog-upload=false", "--require", "slsa")
	if v.code != 2 || !strings.Contains(v.stderr, `--require "slsa"`) {
		t.Fatalf("verify --require slsa: exit %d\n%s%s", v.code, v.stdout, v.stderr)
	}
}
