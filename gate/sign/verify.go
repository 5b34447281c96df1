package sign

import (
	"cmp"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// VerifyOptions say whose signature an image must carry and what its
// verdict attestation must say.
type VerifyOptions struct {
	// Key is the public key (PEM, cosign.pub) of key-based signatures.
	Key     []byte
	KeyFile string
	// Keyless: the certificate's identity and OIDC issuer, each exact or
	// a regular expression (one of each is required).
	CertIdentity, CertIdentityRegexp     string
	CertOIDCIssuer, CertOIDCIssuerRegexp string
	// TrustedRoot is a Sigstore trusted root (JSON) for a private
	// deployment; default the public instance's, fetched with TUF.
	TrustedRoot string
	// IgnoreTlog accepts signatures that were not recorded in Rekor
	// (signed with --tlog-upload=false).
	IgnoreTlog bool
	// MaxAge, when set, refuses verdicts older than this.
	MaxAge time.Duration
	// Environment, when set, requires the verdict to have been made for
	// it (production: the strictest tier applied).
	Environment string
	// Require names the attestations the image must carry besides the
	// verdict, signed by the same identity: sbom, vex (Requirable).
	Require []string
	Now     time.Time

	Keychain  authn.Keychain
	Transport http.RoundTripper
}

// Verified is what a verification established.
type Verified struct {
	Image    string  `json:"image"`    // repository@sha256:…
	Identity string  `json:"identity"` // the key or the certificate's subject
	Verdict  Verdict `json:"verdict"`  // the newest passing verdict attestation
	// Attestations are the kinds of attestation the image carries by the
	// same identity, each predicate type once.
	Attestations []Attestation `json:"attestations"`
}

// Attestation is one kind of attestation an image carries.
type Attestation struct {
	Kind          string `json:"kind,omitempty"` // verdict, sbom, vex; empty for another's
	PredicateType string `json:"predicate_type"`
}

// NotVerified is a verification that ran and refused the image: exit 1,
// where any other error (registry down, a bad key file) is exit 2.
type NotVerified struct{ Reason string }

func (e *NotVerified) Error() string { return e.Reason }

func refuse(format string, args ...any) error {
	return &NotVerified{Reason: fmt.Sprintf(format, args...)}
}

// Verify checks that the image carries a signature of the identity and a
// verdict attestation, signed by the same identity, that says pass (and
// is recent enough, and for the environment, when asked).
func Verify(ctx context.Context, image string, o VerifyOptions) (Verified, error) {
	var out Verified
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport
	}
	if err := checkRequire(o.Require); err != nil {
		return out, err
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		return out, fmt.Errorf("image %q: %w", image, err)
	}
	co, err := o.checkOpts(ctx)
	if err != nil {
		return out, err
	}
	digest, err := ociremote.ResolveDigest(ref, co.RegistryClientOpts...)
	if err != nil {
		return out, fmt.Errorf("resolving %s: %w", image, err)
	}
	out.Image = digest.String()

	co.ClaimVerifier = cosign.SimpleClaimVerifier
	sigs, _, err := cosign.VerifyImageSignatures(ctx, digest, co)
	if err != nil {
		return out, classify(fmt.Sprintf("%s: no valid signature", digest), err)
	}
	out.Identity = signerIdentity(sigs[0], o)

	co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
	atts, _, err := cosign.VerifyImageAttestations(ctx, digest, co)
	if err != nil {
		return out, classify(fmt.Sprintf("%s: no valid verdict attestation", digest), err)
	}
	var reasons []string
	var best *Verdict
	for _, att := range atts {
		st, err := statementOf(att)
		if err != nil {
			continue
		}
		if !slices.ContainsFunc(out.Attestations, func(a Attestation) bool { return a.PredicateType == st.PredicateType }) {
			out.Attestations = append(out.Attestations, Attestation{Kind: KindOf(st.PredicateType), PredicateType: st.PredicateType})
		}
		if st.PredicateType != PredicateType {
			continue
		}
		var v Verdict
		if err := json.Unmarshal(st.Predicate, &v); err != nil {
			reasons = append(reasons, fmt.Sprintf("its verdict attestation does not parse: %v", err))
			continue
		}
		switch {
		case v.Verdict != "pass":
			reasons = append(reasons, fmt.Sprintf("the verdict is %q", v.Verdict))
		case o.MaxAge > 0 && o.Now.Sub(v.Time) > o.MaxAge:
			reasons = append(reasons, fmt.Sprintf("the verdict is from %s, older than %s", v.Time.UTC().Format(time.RFC3339), o.MaxAge))
		case o.Environment != "" && v.Environment != o.Environment:
			reasons = append(reasons, fmt.Sprintf("the verdict was made for environment %q, not %q", v.Environment, o.Environment))
		default:
			if best == nil || v.Time.After(best.Time) {
				best = &v
			}
		}
	}
	slices.SortFunc(out.Attestations, func(a, b Attestation) int {
		return cmp.Or(cmp.Compare(kindOrder(a.Kind), kindOrder(b.Kind)), cmp.Compare(a.PredicateType, b.PredicateType))
	})
	if best == nil {
		if len(reasons) == 0 {
			return out, refuse("%s: signed, but no secgate verdict attestation (%s) by the same identity", digest, PredicateType)
		}
		return out, refuse("%s: signed, but %s", digest, reasons[len(reasons)-1])
	}
	out.Verdict = *best
	for _, kind := range o.Require {
		if !slices.ContainsFunc(out.Attestations, func(a Attestation) bool { return a.Kind == kind }) {
			return out, refuse("%s: verdict pass, but no %s attestation (%s) by the same identity", digest, kindName(kind), strings.Join(predicatesOf(kind), " or "))
		}
	}
	return out, nil
}

// checkRequire refuses a --require that names no attestation secgate makes.
func checkRequire(kinds []string) error {
	for _, k := range kinds {
		if !slices.Contains(Requirable, k) {
			return fmt.Errorf("--require %q: want %s (the verdict is always required)", k, strings.Join(Requirable, ", "))
		}
	}
	return nil
}

func kindOrder(kind string) int {
	switch kind {
	case KindVerdict:
		return 0
	case KindSBOM:
		return 1
	case KindVEX:
		return 2
	}
	return 3
}

func kindName(kind string) string {
	switch kind {
	case KindSBOM:
		return "SBOM"
	case KindVEX:
		return "VEX"
	}
	return kind
}

func predicatesOf(kind string) []string {
	switch kind {
	case KindSBOM:
		return []string{PredicateCycloneDX, PredicateSPDX}
	case KindVEX:
		return []string{PredicateOpenVEX}
	}
	return []string{PredicateType}
}

// classify tells a refusal (exit 1) from a failure to check (exit 2).
func classify(what string, err error) error {
	var vf *cosign.VerificationFailure
	var nm *cosign.ErrNoMatchingSignatures
	var ns *cosign.ErrNoSignaturesFound
	var na *cosign.ErrNoMatchingAttestations
	var nc *cosign.ErrNoCertificateFoundOnSignature
	var ve *cosign.VerificationError
	if errors.As(err, &vf) || errors.As(err, &nm) || errors.As(err, &ns) || errors.As(err, &na) || errors.As(err, &nc) || errors.As(err, &ve) {
		return refuse("%s: %v", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (o VerifyOptions) checkOpts(ctx context.Context) (*cosign.CheckOpts, error) {
	co := &cosign.CheckOpts{
		RegistryClientOpts: []ociremote.Option{ociremote.WithRemoteOptions(
			remote.WithContext(ctx), remote.WithAuthFromKeychain(o.Keychain), remote.WithTransport(o.Transport))},
		IgnoreTlog: o.IgnoreTlog,
	}
	keyless := len(o.Key) == 0
	if keyless {
		if (o.CertIdentity == "" && o.CertIdentityRegexp == "") || (o.CertOIDCIssuer == "" && o.CertOIDCIssuerRegexp == "") {
			return nil, errors.New("say whose signature to require: --key FILE, or --certificate-identity (or -regexp) with --certificate-oidc-issuer (or -regexp)")
		}
		for _, re := range []string{o.CertIdentityRegexp, o.CertOIDCIssuerRegexp} {
			if _, err := regexp.Compile(re); err != nil {
				return nil, fmt.Errorf("regular expression %q: %w", re, err)
			}
		}
		co.Identities = []cosign.Identity{{
			Subject: o.CertIdentity, SubjectRegExp: o.CertIdentityRegexp,
			Issuer: o.CertOIDCIssuer, IssuerRegExp: o.CertOIDCIssuerRegexp,
		}}
	} else {
		where := "public key"
		if o.KeyFile != "" {
			where = "public key " + o.KeyFile
		}
		pub, err := cryptoutils.UnmarshalPEMToPublicKey(o.Key)
		if err != nil {
			return nil, fmt.Errorf("%s: not a PEM public key (cosign.pub): %w", where, err)
		}
		if co.SigVerifier, err = signature.LoadVerifier(pub, crypto.SHA256); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
	}
	if !keyless && o.IgnoreTlog && o.TrustedRoot == "" {
		return co, nil // nothing else to trust
	}
	var tm root.TrustedMaterial
	if o.TrustedRoot != "" {
		tr, err := root.NewTrustedRootFromPath(o.TrustedRoot)
		if err != nil {
			return nil, fmt.Errorf("trusted root %s: %w", o.TrustedRoot, err)
		}
		tm = tr
	} else {
		tr, err := root.FetchTrustedRoot()
		if err != nil {
			return nil, fmt.Errorf("fetching the public Sigstore trusted root (TUF): %w; give --trusted-root FILE", err)
		}
		tm = tr
	}
	co.TrustedMaterial = tm
	// A private deployment without a certificate transparency log:
	// certificates carry no SCT to check.
	co.IgnoreSCT = len(tm.CTLogs()) == 0
	return co, nil
}

// signerIdentity names who signed: the key, or the certificate's subject.
func signerIdentity(sig oci.Signature, o VerifyOptions) string {
	if cert, err := sig.Cert(); err == nil && cert != nil {
		return CertIdentity(cert)
	}
	if pub, err := cryptoutils.UnmarshalPEMToPublicKey(o.Key); err == nil {
		return "key " + KeyID(pub)
	}
	return ""
}

// statementOf reads the in-toto statement out of an attestation's DSSE
// envelope; its predicate is decoded by the caller, by its type (a verdict
// and an SBOM have nothing in common).
func statementOf(att oci.Signature) (documentStatement, error) {
	var st documentStatement
	raw, err := att.Payload()
	if err != nil {
		return st, err
	}
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return st, err
	}
	body, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(body, &st)
}
