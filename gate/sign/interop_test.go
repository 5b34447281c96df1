package sign_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secgate/secgate/gate/sign"
	"github.com/secgate/secgate/gate/sign/signtest"
)

// Signing against a real registry (distribution, Debian's docker-registry,
// which .ci/run starts and names in SECGATE_TEST_REGISTRY), and — when
// SECGATE_COSIGN names a cosign v2 binary (bench/cosign-interop.sh builds
// v2.6.5) — the cosign CLI accepts what secgate signed, as deploy jobs and
// admission controllers will check it.
func TestSignOnDistributionWithCosign(t *testing.T) {
	host := os.Getenv("SECGATE_TEST_REGISTRY")
	if host == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but SECGATE_TEST_REGISTRY is not: .ci/run must start Debian's docker-registry for this test")
		}
		t.Skip("SECGATE_TEST_REGISTRY is not set: .ci/run starts Debian's docker-registry for this test")
	}
	ctx := context.Background()
	dir := t.TempDir()
	priv, pub := signtest.KeyPair(t, "pw")
	pubFile := filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	_, otherPub := signtest.KeyPair(t, "pw")
	otherFile := filepath.Join(dir, "other.pub")
	if err := os.WriteFile(otherFile, otherPub, 0o644); err != nil {
		t.Fatal(err)
	}
	ss := signtest.NewSigstore(t)
	rekorPub := filepath.Join(dir, "rekor.pub")
	if err := os.WriteFile(rekorPub, ss.RekorPublicKey(), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tlog := range []bool{false, true} {
		repo := host + "/secgate-sign-test/" + map[bool]string{false: "notlog", true: "tlog"}[tlog]
		d := signtest.PushRandom(t, repo+":"+strings.ReplaceAll(time.Now().Format("150405.000000000"), ".", "-"))
		st, err := sign.NewStatement(d.String(), sign.Verdict{Verdict: "pass", Environment: "production", Time: time.Now(), Gate: sign.Tool{Name: "secgate", Version: "test"}})
		if err != nil {
			t.Fatal(err)
		}
		s, err := sign.New(ctx, sign.Options{Key: priv, Password: []byte("pw"), TlogUpload: tlog, RekorURL: ss.RekorURL})
		if err != nil {
			t.Fatal(err)
		}
		// The documents beside the verdict: a CycloneDX SBOM without the
		// log, an SPDX one with it, the VEX document in both.
		sbomType, sbomDoc, cosignType := sign.PredicateCycloneDX, cdxDoc, "cyclonedx"
		if tlog {
			sbomType, sbomDoc, cosignType = sign.PredicateSPDX, spdxDoc, "spdxjson"
		}
		if _, err := s.Sign(ctx, d.String(), st, document(t, d, sbomType, sbomDoc), document(t, d, sign.PredicateOpenVEX, vexDoc)); err != nil {
			t.Fatalf("signing on distribution (tlog %t): %v", tlog, err)
		}
		o := sign.VerifyOptions{Key: pub, IgnoreTlog: !tlog}
		if tlog {
			o.TrustedRoot = ss.TrustedRoot
		}
		o.Require = []string{sign.KindSBOM, sign.KindVEX}
		if _, err := sign.Verify(ctx, d.String(), o); err != nil {
			t.Fatalf("verify on distribution (tlog %t): %v", tlog, err)
		}

		cosignBin := os.Getenv("SECGATE_COSIGN")
		if cosignBin == "" {
			continue
		}
		cosign := func(key string, args ...string) (string, error) {
			base := []string{args[0], "--key", key, "--allow-insecure-registry", "--allow-http-registry"}
			if tlog {
				base = append(base, "--insecure-ignore-sct")
			} else {
				base = append(base, "--insecure-ignore-tlog")
			}
			cmd := exec.Command(cosignBin, append(append(base, args[1:]...), d.String())...)
			cmd.Env = append(os.Environ(), "SIGSTORE_REKOR_PUBLIC_KEY="+rekorPub, "TUF_ROOT="+filepath.Join(dir, "tuf"), "SIGSTORE_NO_CACHE=1")
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		if out, err := cosign(pubFile, "verify"); err != nil {
			t.Fatalf("cosign verify (tlog %t): %v\n%s", tlog, err, out)
		}
		if out, err := cosign(pubFile, "verify-attestation", "--type", sign.PredicateType); err != nil {
			t.Fatalf("cosign verify-attestation (tlog %t): %v\n%s", tlog, err, out)
		}
		for _, typ := range []string{cosignType, "openvex"} {
			out, err := cosign(pubFile, "verify-attestation", "--type", typ)
			if err != nil {
				t.Fatalf("cosign verify-attestation --type %s (tlog %t): %v\n%s", typ, tlog, err, out)
			}
			// cosign prints each matching statement's DSSE envelope: the
			// predicate type it checked is in the decoded payload.
			if !strings.Contains(out, "Verification for "+d.String()) {
				t.Fatalf("cosign verify-attestation --type %s (tlog %t) says:\n%s", typ, tlog, out)
			}
		}
		if out, err := cosign(otherFile, "verify-attestation", "--type", cosignType); err == nil {
			t.Fatalf("cosign verify-attestation --type %s accepted another key (tlog %t):\n%s", cosignType, tlog, out)
		}
		if out, err := cosign(otherFile, "verify"); err == nil {
			t.Fatalf("cosign verify accepted another key (tlog %t):\n%s", tlog, out)
		}
		t.Logf("cosign verify, verify-attestation --type %s, --type %s and --type openvex accept %s (tlog %t)", sign.PredicateType, cosignType, d, tlog)
	}
}
