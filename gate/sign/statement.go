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
	Engine   string `json:"engine,omitempty"` // gitleaks v8.30.1, osv-scanner v2.5.0
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
	image, err := name.NewDigest(digestRef)
	if err != nil {
		return nil, fmt.Errorf("%q: not a digest reference: %w", digestRef, err)
	}
	alg, hex, ok := strings.Cut(image.DigestStr(), ":")
	if !ok {
		return nil, fmt.Errorf("%s: not a digest reference", image)
	}
	return json.Marshal(Statement{
		Type:          StatementType,
		Subject:       []Subject{{Name: image.Context().Name(), Digest: map[string]string{alg: hex}}},
		PredicateType: PredicateType,
		Predicate:     v,
	})
}
