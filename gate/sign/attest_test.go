package sign_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/secgate/secgate/gate/sign"
	"github.com/secgate/secgate/gate/sign/signtest"
)

// Documents as secgate writes them (abridged): a CycloneDX SBOM naming the
// image, an SPDX one, an OpenVEX document.
const (
	cdxDoc  = `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"metadata":{"component":{"type":"container","name":"%s"}},"components":[{"type":"library","name":"lodash","version":"4.17.15","purl":"pkg:npm/lodash@4.17.15"}]}`
	spdxDoc = `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"%s","packages":[]}`
	vexDoc  = `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"urn:uuid:1","author":"acme","timestamp":"2026-12-03T00:00:00Z","version":1,"statements":[{"vulnerability":{"name":"GHSA-29mw-wpgm-hmr9"},"products":[{"@id":"pkg:npm/lodash@4.17.15"}],"status":"not_affected","justification":"component_not_present"}]}`
)

func document(t *testing.T, d name.Digest, predicateType, doc string) []byte {
	t.Helper()
	doc = strings.Replace(doc, "%s", d.String(), 1) // the SBOM names its image
	b, err := sign.NewDocumentStatement(d.String(), predicateType, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cosignAttestations are the statements of one predicate type that
// cosign's library verifies with the key.
func cosignAttestations(t *testing.T, d name.Digest, pub []byte, predicateType string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, st := range signtest.VerifiedStatements(t, d.String(), pub, predicateType) {
		var m map[string]any
		b, _ := json.Marshal(st)
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func sameJSON(t *testing.T, got any, want string) bool {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(got, w)
}

// The SBOM and VEX document ride beside the verdict: each a signed in-toto
// attestation of the image's digest that cosign's library verifies by its
// predicate type; secgate verify lists them, and --require refuses an
// image without them or with them signed by another key.
func TestDocumentAttestations(t *testing.T) {
	ctx := context.Background()
	host := signtest.Registry(t)
	priv, pub := signtest.KeyPair(t, "pw")
	s := keySigner(t, priv, "pw", false, "")
	now := time.Now()
	d := signtest.PushRandom(t, host+"/app:1")

	res, err := s.Sign(ctx, d.String(), statement(t, d, "pass", "production", now),
		document(t, d, sign.PredicateCycloneDX, cdxDoc), document(t, d, sign.PredicateOpenVEX, vexDoc))
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, a := range res.Attested {
		types = append(types, a.PredicateType)
	}
	if want := []string{sign.PredicateType, sign.PredicateCycloneDX, sign.PredicateOpenVEX}; !slices.Equal(types, want) {
		t.Fatalf("attested %v, want %v", types, want)
	}

	for typ, doc := range map[string]string{sign.PredicateCycloneDX: strings.Replace(cdxDoc, "%s", d.String(), 1), sign.PredicateOpenVEX: vexDoc} {
		sts := cosignAttestations(t, d, pub, typ)
		if len(sts) != 1 {
			t.Fatalf("%d %s attestations verified by cosign, want 1", len(sts), typ)
		}
		if !sameJSON(t, sts[0]["predicate"], doc) {
			t.Errorf("%s: the predicate is not the document:\n%v", typ, sts[0]["predicate"])
		}
		subj, _ := json.Marshal(sts[0]["subject"])
		if !strings.Contains(string(subj), d.DigestStr()[len("sha256:"):]) || sts[0]["_type"] != sign.StatementType {
			t.Errorf("%s: statement %s is not about %s", typ, subj, d)
		}
	}

	opts := sign.VerifyOptions{Key: pub, IgnoreTlog: true, Require: []string{sign.KindSBOM, sign.KindVEX}}
	v, err := sign.Verify(ctx, d.String(), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []sign.Attestation{{Kind: "verdict", PredicateType: sign.PredicateType}, {Kind: "sbom", PredicateType: sign.PredicateCycloneDX}, {Kind: "vex", PredicateType: sign.PredicateOpenVEX}}
	if !slices.Equal(v.Attestations, want) || v.Verdict.Verdict != "pass" {
		t.Fatalf("verified %+v, want the attestations %v", v, want)
	}

	// A re-run replaces each of its attestations (the SBOM in the other
	// format too: one SBOM per image) and keeps one signature.
	if _, err := s.Sign(ctx, d.String(), statement(t, d, "pass", "production", now),
		document(t, d, sign.PredicateCycloneDX, cdxDoc), document(t, d, sign.PredicateOpenVEX, vexDoc)); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(host + "/app:sha256-" + d.DigestStr()[7:] + ".att")
	img, err := remote.Image(tag)
	if err != nil {
		t.Fatal(err)
	}
	if layers, _ := img.Layers(); len(layers) != 3 {
		t.Fatalf("%d attestations after signing twice, want the verdict, the SBOM and the VEX document once each", len(layers))
	}

	t.Run("SPDX", func(t *testing.T) {
		d := signtest.PushRandom(t, host+"/spdx:1")
		if _, err := s.Sign(ctx, d.String(), statement(t, d, "pass", "", now), document(t, d, sign.PredicateSPDX, spdxDoc)); err != nil {
			t.Fatal(err)
		}
		if sts := cosignAttestations(t, d, pub, sign.PredicateSPDX); len(sts) != 1 || !sameJSON(t, sts[0]["predicate"], strings.Replace(spdxDoc, "%s", d.String(), 1)) {
			t.Fatalf("SPDX attestations %v", sts)
		}
		_, err := sign.Verify(ctx, d.String(), sign.VerifyOptions{Key: pub, IgnoreTlog: true, Require: []string{"sbom"}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = sign.Verify(ctx, d.String(), sign.VerifyOptions{Key: pub, IgnoreTlog: true, Require: []string{"sbom", "vex"}})
		notVerified(t, err, "no VEX attestation (https://openvex.dev/ns) by the same identity")
	})

	t.Run("missing", func(t *testing.T) {
		d := signtest.PushRandom(t, host+"/bare:1")
		if _, err := s.Sign(ctx, d.String(), statement(t, d, "pass", "", now)); err != nil {
			t.Fatal(err)
		}
		v, err := sign.Verify(ctx, d.String(), sign.VerifyOptions{Key: pub, IgnoreTlog: true})
		if err != nil || len(v.Attestations) != 1 || v.Attestations[0].Kind != "verdict" {
			t.Fatalf("without --require: %v, %+v", err, v.Attestations)
		}
		_, err = sign.Verify(ctx, d.String(), sign.VerifyOptions{Key: pub, IgnoreTlog: true, Require: []string{"sbom"}})
		notVerified(t, err, "no SBOM attestation (https://cyclonedx.org/bom or https://spdx.dev/Document)")
	})

	t.Run("signed by another key", func(t *testing.T) {
		d := signtest.PushRandom(t, host+"/mixed:1")
		if _, err := s.Sign(ctx, d.String(), statement(t, d, "pass", "", now)); err != nil {
			t.Fatal(err)
		}
		otherPriv, otherPub := signtest.KeyPair(t, "pw2")
		other := keySigner(t, otherPriv, "pw2", false, "")
		if _, err := other.Sign(ctx, d.String(), document(t, d, sign.PredicateCycloneDX, cdxDoc), document(t, d, sign.PredicateOpenVEX, vexDoc)); err != nil {
			t.Fatal(err)
		}
		// Both attestations are in the registry, but not by our key.
		if len(cosignAttestations(t, d, otherPub, sign.PredicateCycloneDX)) != 1 {
			t.Fatal("the other key's SBOM attestation was not pushed")
		}
		_, err := sign.Verify(ctx, d.String(), sign.VerifyOptions{Key: pub, IgnoreTlog: true, Require: []string{"vex"}})
		notVerified(t, err, "no VEX attestation")
		_, err = sign.Verify(ctx, d.String(), sign.VerifyOptions{Key: pub, IgnoreTlog: true, Require: []string{"sbom"}})
		notVerified(t, err, "no SBOM attestation")
		// And the other key's documents do not make a verdict.
		_, err = sign.Verify(ctx, d.String(), sign.VerifyOptions{Key: otherPub, IgnoreTlog: true, Require: []string{"sbom"}})
		notVerified(t, err, "no secgate verdict attestation")
	})

	t.Run("an SBOM of another image", func(t *testing.T) {
		d2 := signtest.PushRandom(t, host+"/other:1")
		// A statement about d2, attached to d: cosign's subject check
		// refuses it, so d carries no SBOM.
		if _, err := s.Sign(ctx, d2.String(), statement(t, d2, "pass", "", now)); err != nil {
			t.Fatal(err)
		}
		d3 := signtest.PushRandom(t, host+"/third:1")
		if _, err := s.Sign(ctx, d3.String(), statement(t, d3, "pass", "", now), document(t, d2, sign.PredicateCycloneDX, cdxDoc)); err != nil {
			t.Fatal(err)
		}
		_, err := sign.Verify(ctx, d3.String(), sign.VerifyOptions{Key: pub, IgnoreTlog: true, Require: []string{"sbom"}})
		notVerified(t, err, "no SBOM attestation")
	})

	t.Run("bad requirement and bad documents", func(t *testing.T) {
		_, err := sign.Verify(ctx, d.String(), sign.VerifyOptions{Key: pub, IgnoreTlog: true, Require: []string{"provenance"}})
		var nv *sign.NotVerified
		if err == nil || errors.As(err, &nv) || !strings.Contains(err.Error(), `--require "provenance"`) {
			t.Fatalf("want an error naming the requirement, got %v", err)
		}
		if _, err := sign.NewDocumentStatement(d.String(), sign.PredicateCycloneDX, []byte("{not json")); err == nil {
			t.Error("a document that is not JSON was attested")
		}
		if _, err := sign.NewDocumentStatement(d.String(), "https://example.com/other", []byte("{}")); err == nil {
			t.Error("a predicate type secgate does not make was attested")
		}
		if _, err := s.Sign(ctx, d.String(), []byte(`{"predicateType":"x"}`)); err == nil {
			t.Error("a statement that is not in-toto was signed")
		}
	})
}
