package gate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/gate/sign"
	"github.com/secgate/secgate/policy"
)

// Signer signs one image (a digest) and attests the statements for it
// (the verdict's first, then the SBOM's and the VEX document's); gate/sign's
// Signer is the real one.
type Signer interface {
	Sign(ctx context.Context, digestRef string, statements ...[]byte) (sign.Result, error)
	Identity() string
}

// SignOptions are the circumstances of the signing step.
type SignOptions struct {
	DryRun bool
	// NewSigner makes the signer; called only when there is an image to
	// sign (keyless signing asks Fulcio for a certificate). Nil: no
	// signing identity, and Unavailable says why (a fork's pull request
	// gets no secrets and no OIDC token).
	NewSigner   func(context.Context) (Signer, error)
	Unavailable string
	// What the attestation records about the run.
	Version, Commit, Repository, RunURL string
	Now                                 time.Time
	// The documents attested beside the verdict, always (with or without
	// --sbom and --vex-out): the image's SBOM in SBOMFormat (default
	// CycloneDX) and the VEX document of the policy's exceptions, authored
	// by VEXAuthor.
	SBOMFormat, VEXAuthor string
}

// SignImages signs the images of a passing report — never a failing one,
// never in a dry run, always by digest — and attaches the verdict
// attestation. rep.Signature says what was signed, or why not, per image.
// The error is a signing that was due and failed (a registry that refused
// the push, Fulcio or Rekor down): the caller fails the gate with it.
func SignImages(ctx context.Context, rep *report.Report, o SignOptions) error {
	sig := &report.Signature{}
	rep.Signature = sig
	var due []int // indexes into sig.Images of the images to sign
	for _, ci := range rep.Images {
		is := report.ImageSignature{Reference: ci.Reference}
		digest, why := signable(ci)
		if why != "" {
			is.Reason = why
		} else {
			is.Digest = digest
			due = append(due, len(sig.Images))
		}
		sig.Images = append(sig.Images, is)
	}
	notSigned := func(reason string) error {
		sig.Reason = reason
		for _, i := range due {
			sig.Images[i].Reason = reason
		}
		return nil
	}
	switch {
	case rep.Verdict != policy.VerdictPass:
		return notSigned(fmt.Sprintf("the verdict is %s: only images that pass are signed", rep.Verdict))
	case len(rep.Images) == 0:
		return notSigned("no image was checked (give --image)")
	case len(due) == 0:
		return notSigned("no image was checked by its registry reference: " + sig.Images[0].Reason)
	case o.DryRun:
		return notSigned("dry run: would sign " + strings.Join(dueDigests(sig, due), ", "))
	case o.NewSigner == nil:
		return notSigned(o.Unavailable)
	}
	s, err := o.NewSigner(ctx)
	if err != nil {
		notSigned("no signing identity: " + err.Error())
		return fmt.Errorf("signing: %w", err)
	}
	sig.Identity = s.Identity()
	var errs []error
	for _, i := range due {
		if err := signImage(ctx, s, rep, o, &sig.Images[i]); err != nil {
			errs = append(errs, err)
			continue
		}
		if sig.Image == "" {
			sig.Image = sig.Images[i].Digest
		}
	}
	sig.Signed = len(errs) == 0 && len(due) == len(sig.Images)
	if len(errs) > 0 {
		sig.Reason = fmt.Sprintf("%d of %d images not signed", len(errs), len(due))
	} else if !sig.Signed {
		sig.Reason = "some images are not in a registry"
	}
	return errors.Join(errs...)
}

// signImage signs one image by its digest and attaches the verdict and
// the documents' attestations, recording the outcome in is (an error's
// reason too: the report says why each image is or is not signed).
func signImage(ctx context.Context, s Signer, rep *report.Report, o SignOptions, is *report.ImageSignature) error {
	st, err := sign.NewStatement(is.Digest, verdictPredicate(rep, o))
	if err != nil {
		is.Reason = err.Error()
		return err
	}
	docs, note, err := documentStatements(rep, o, is.Reference, is.Digest)
	if err != nil {
		is.Reason = err.Error()
		return err
	}
	if note != "" && !slices.Contains(rep.Warnings, note) {
		rep.Warnings = append(rep.Warnings, note)
	}
	res, err := s.Sign(ctx, is.Digest, append([][]byte{st}, docs...)...)
	if err != nil {
		is.Reason = err.Error()
		is.Signature = res.Signature // pushed even so, when the attestation failed
		return err
	}
	is.Signed, is.Signature, is.Attestation = true, res.Signature, res.Attestation
	is.TlogIndex, is.AttestationTlogIndex = res.TlogIndex, res.AttTlogIdx
	for _, a := range res.Attested {
		is.Attestations = append(is.Attestations, a.PredicateType)
	}
	return nil
}

// signable is what to sign for a checked image (the digest its reference
// resolved to: a multi-platform index's, else the image's), or why it
// cannot be signed.
func signable(ci policy.CheckedImage) (digest, why string) {
	for _, t := range []string{"docker-archive:", "oci-layout:", "docker-daemon:"} {
		if strings.HasPrefix(ci.Reference, t) {
			return "", "not in a registry (" + strings.TrimSuffix(t, ":") + "): push it and check it by its registry reference to sign it"
		}
	}
	if ci.Repository == "" {
		return "", "no registry repository"
	}
	d := ci.IndexDigest
	if d == "" && len(ci.Images) == 1 {
		d = ci.Images[0].Digest
	}
	if d == "" {
		return "", "no single digest (several platform images and no index)"
	}
	return ci.Repository + "@" + d, ""
}

func dueDigests(sig *report.Signature, due []int) []string {
	var out []string
	for _, i := range due {
		out = append(out, sig.Images[i].Digest)
	}
	return out
}

// documentStatements are the statements of the documents attested beside
// the verdict of the image ref (signed as digest): its SBOM — the packages
// the deps scanner found in that image, and only those — and the VEX
// document of the exceptions that applied to the image's or the
// repository's packages. The note says why an SBOM is missing: without a
// complete deps scan there is no inventory to attest, and an empty one
// would claim the image holds nothing.
func documentStatements(rep *report.Report, o SignOptions, ref, digest string) (statements [][]byte, note string, err error) {
	type document struct {
		predicateType string
		body          []byte
	}
	var docs []document
	i := slices.IndexFunc(rep.Scanners, func(s report.Scanner) bool { return s.Name == "deps" })
	switch {
	case i < 0:
		note = "--sign: no SBOM attestation: the deps scanner did not run (it reads the image's packages)"
	case rep.Scanners[i].Status != report.StatusOK:
		note = fmt.Sprintf("--sign: no SBOM attestation: the deps scanner's status is %s, its package list is incomplete", rep.Scanners[i].Status)
	default:
		subject := report.SBOMSubject{Name: ref, Image: true}
		for _, s := range rep.SBOMSubjects("") {
			if s.Image && s.Name == ref {
				subject = s
			}
		}
		var b bytes.Buffer
		if err := rep.SBOM(&b, o.SBOMFormat, subject, o.Version, o.Now); err != nil {
			return nil, "", fmt.Errorf("the SBOM of %s: %w", ref, err)
		}
		typ := sign.PredicateCycloneDX
		if o.SBOMFormat == report.SBOMSPDX {
			typ = sign.PredicateSPDX
		}
		docs = append(docs, document{typ, b.Bytes()})
	}
	// The VEX document: the run's exceptions on this image's packages and
	// on the repository's (built into it), not another image's.
	scoped := *rep
	scoped.Findings = slices.DeleteFunc(slices.Clone(rep.Findings), func(f policy.Finding) bool {
		return f.Location.Image != "" && f.Location.Image != ref
	})
	var b bytes.Buffer
	if err := scoped.OpenVEX(&b, o.VEXAuthor, o.Version, o.Now); err != nil {
		return nil, "", fmt.Errorf("the VEX document of %s: %w", ref, err)
	}
	docs = append(docs, document{sign.PredicateOpenVEX, b.Bytes()})
	for _, d := range docs {
		// The report was redacted; the documents get the report's
		// redaction once more, as every file written from it does.
		st, err := sign.NewDocumentStatement(digest, d.predicateType, []byte(rep.RedactText(string(d.body))))
		if err != nil {
			return nil, "", err
		}
		statements = append(statements, st)
	}
	return statements, note, nil
}

// verdictPredicate is the verdict attestation's content for the report.
func verdictPredicate(rep *report.Report, o SignOptions) sign.Verdict {
	v := sign.Verdict{
		Verdict:       string(rep.Verdict),
		DeployAllowed: rep.DeployAllowed,
		Environment:   rep.Environment,
		Production:    rep.Production,
		Counts: map[string]int{
			"critical": rep.Counts.Critical, "high": rep.Counts.High,
			"medium": rep.Counts.Medium, "low": rep.Counts.Low,
		},
		Scanners:   []sign.Scanner{},
		Exceptions: []sign.Exception{},
		Commit:     o.Commit,
		Repository: o.Repository,
		RunURL:     o.RunURL,
		Time:       o.Now.UTC(),
		Gate:       sign.Tool{Name: "secgate", Version: o.Version},
	}
	if rep.Policy != nil {
		v.Policy = sign.PolicySource{File: rep.Policy.File, Digest: rep.Policy.Digest}
	}
	engines := engineVersions()
	for _, s := range rep.Scanners {
		v.Scanners = append(v.Scanners, sign.Scanner{Name: s.Name, Status: s.Status, Findings: s.Findings, Engine: engines[s.Name]})
	}
	for _, f := range rep.Findings {
		if f.Action == policy.ActionIgnored && f.Ignored != nil {
			v.Exceptions = append(v.Exceptions, sign.Exception{Fingerprint: f.Fingerprint, Rule: f.Rule, Reason: f.Ignored.Reason, Expires: f.Ignored.Expires})
		}
	}
	slices.SortFunc(v.Exceptions, func(a, b sign.Exception) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	return v
}

// engineVersions are the scanning libraries built in, by scanner.
func engineVersions() map[string]string {
	out := map[string]string{}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return out
	}
	for _, m := range bi.Deps {
		switch m.Path {
		case "github.com/zricethezav/gitleaks/v8":
			out["secrets"] = "gitleaks " + m.Version
		case "github.com/google/osv-scalibr":
			// The deps scanner runs osv-scalibr's extractors and matchers
			// (osv-scanner is not linked since issue 30).
			out["deps"] = "osv-scalibr " + m.Version
		case "github.com/google/go-containerregistry":
			out["image"] = "go-containerregistry " + m.Version
		}
	}
	return out
}
