package sign

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// PredicateType names secgate's verdict attestation, version 1. A new
// version gets a new type; fields are only added within one.
const PredicateType = "https://github.com/secgate/secgate/attestation/verdict/v1"

// StatementType is the in-toto statement version the attestation uses.
const StatementType = "https://in-toto.io/Statement/v1"

// Verdict is the predicate of the verdict attestation: what the gate
// decided about the image, under which policy, with which scanners.
type Verdict struct {
	Verdict       string         `json:"verdict"` // pass (only passing images are signed)
	DeployAllowed bool           `json:"deploy_allowed"`
	Environment   string         `json:"environment"`
	Production    bool           `json:"production"`
	Counts        map[string]int `json:"counts"` // per tier, ignored findings not counted
	Policy        PolicySource   `json:"policy"`
	Scanners      []Scanner      `json:"scanners"`
	Exceptions    []Exception    `json:"exceptions"`
	Commit        string         `json:"commit,omitempty"`
	Repository    string         `json:"repository,omitempty"` // where the run happened (CI project)
	RunURL        string         `json:"run_url,omitempty"`
	Time          time.Time      `json:"time"` // when the gate decided
	Gate          Tool           `json:"gate"`
}

// PolicySource is the policy file that judged the image.
type PolicySource struct {
	File   string `json:"file,omitempty"` // empty: the built-in policy
	Digest string `json:"digest"`         // sha256:… of its bytes (of the built-in policy's name when none)
}

// Scanner is one scanner's run.
type Scanner struct {
	Name     string `json:"name"`
	Status   string `json:"status"`
	Findings int    `json:"findings"`
	Engine   string `json:"engine,omitempty"` // gitleaks v8.30.1, osv-scalibr v0.4.6-…
}

// Exception is a finding the policy let through.
type Exception struct {
	Fingerprint string `json:"fingerprint"`
	Rule        string `json:"rule"`
	Reason      string `json:"reason,omitempty"`
	Expires     string `json:"expires,omitempty"`
}

// Tool is the program that made the attestation.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Statement is an in-toto statement about one image.
type Statement struct {
	Type          string    `json:"_type"`
	Subject       []Subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     Verdict   `json:"predicate"`
}

// Subject is the image the statement is about.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// NewStatement is the verdict attestation's statement for the image.
func NewStatement(digestRef string, v Verdict) ([]byte, error) {
	subject, err := subjectOf(digestRef)
	if err != nil {
		return nil, err
	}
	return json.Marshal(Statement{
		Type:          StatementType,
		Subject:       []Subject{subject},
		PredicateType: PredicateType,
		Predicate:     v,
	})
}

func subjectOf(digestRef string) (Subject, error) {
	image, err := name.NewDigest(digestRef)
	if err != nil {
		return Subject{}, fmt.Errorf("%q: not a digest reference: %w", digestRef, err)
	}
	alg, hex, ok := strings.Cut(image.DigestStr(), ":")
	if !ok {
		return Subject{}, fmt.Errorf("%s: not a digest reference", image)
	}
	return Subject{Name: image.Context().Name(), Digest: map[string]string{alg: hex}}, nil
}

// The predicate types of the documents attested beside the verdict, as
// `cosign verify-attestation --type cyclonedx|spdxjson|openvex` names
// them (cosign's PredicateTypeMap), so that cosign, Kyverno and the
// policy-controller find them by their usual names.
const (
	PredicateCycloneDX = "https://cyclonedx.org/bom"
	PredicateSPDX      = "https://spdx.dev/Document"
	PredicateOpenVEX   = "https://openvex.dev/ns"
)

// The kinds of attestation `secgate verify` names and --require asks for.
const (
	KindVerdict = "verdict"
	KindSBOM    = "sbom"
	KindVEX     = "vex"
)

// Requirable are the kinds --require accepts (the verdict is always
// required).
var Requirable = []string{KindSBOM, KindVEX}

// KindOf names an attestation's predicate type: verdict, sbom, vex, or ""
// for one secgate does not make (a provenance attestation of the build).
func KindOf(predicateType string) string {
	switch predicateType {
	case PredicateType:
		return KindVerdict
	case PredicateCycloneDX, PredicateSPDX:
		return KindSBOM
	case PredicateOpenVEX:
		return KindVEX
	}
	return ""
}

// documentStatement is an in-toto statement whose predicate is a whole
// document (an SBOM, a VEX document), as `cosign attest --predicate FILE`
// makes it.
type documentStatement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// NewDocumentStatement is the statement attesting doc (JSON: a CycloneDX
// or SPDX SBOM, an OpenVEX document) about the image.
func NewDocumentStatement(digestRef, predicateType string, doc []byte) ([]byte, error) {
	if KindOf(predicateType) == "" || predicateType == PredicateType {
		return nil, fmt.Errorf("predicate type %q: not a document secgate attests", predicateType)
	}
	if !json.Valid(doc) {
		return nil, fmt.Errorf("the %s document for %s is not JSON", KindOf(predicateType), digestRef)
	}
	subject, err := subjectOf(digestRef)
	if err != nil {
		return nil, err
	}
	return json.Marshal(documentStatement{Type: StatementType, Subject: []Subject{subject}, PredicateType: predicateType, Predicate: doc})
}

// predicateTypeOf reads a statement's predicate type (for the annotation
// cosign sets on each attestation, and for messages).
func predicateTypeOf(statement []byte) (string, error) {
	var st struct {
		Type          string `json:"_type"`
		PredicateType string `json:"predicateType"`
	}
	if err := json.Unmarshal(statement, &st); err != nil {
		return "", fmt.Errorf("not an in-toto statement: %w", err)
	}
	if st.Type != StatementType || st.PredicateType == "" {
		return "", fmt.Errorf("not an in-toto statement (_type %q, predicateType %q)", st.Type, st.PredicateType)
	}
	return st.PredicateType, nil
}
