// Package sign signs the images that passed the gate, the way cosign does,
// with cosign's library packages: a signature over the image digest and a
// signed in-toto attestation of the verdict, both attached in cosign's
// tag scheme (sha256-<digest>.sig / .att) that cosign v2 and v3 verify. It
// signs with a cosign-format key or keylessly (an OIDC token, a Fulcio
// certificate), records the signatures in Rekor unless told not to, and
// verifies them again for deploy jobs (Verify).
package sign

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	cremote "github.com/sigstore/cosign/v2/pkg/cosign/remote"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
	rclient "github.com/sigstore/rekor/pkg/client"
	rekorclient "github.com/sigstore/rekor/pkg/generated/client"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// The public Sigstore instance, the default for keyless signing and for
// the transparency log.
const (
	DefaultFulcioURL = "https://fulcio.sigstore.dev"
	DefaultRekorURL  = "https://rekor.sigstore.dev"
)

// Options say who signs and where the signatures go.
type Options struct {
	// Key is a cosign-format encrypted private key (PEM, as `cosign
	// generate-key-pair` writes it), Password its password. Without a key
	// the signing is keyless: IDToken is then required.
	Key      []byte
	Password []byte
	KeyFile  string // where Key came from, for messages

	// IDToken is an OIDC token (audience sigstore) for keyless signing.
	IDToken   string
	FulcioURL string // default DefaultFulcioURL

	// TlogUpload records each signature in the Rekor transparency log at
	// RekorURL (default DefaultRekorURL). Keyless signing needs it.
	TlogUpload bool
	RekorURL   string

	// TrustedRoot, when set, is a Sigstore trusted root (JSON) that what
	// Fulcio and Rekor returned must verify against before anything is
	// pushed (a private deployment's, or a pinned copy of the public one).
	TrustedRoot string

	// Keychain logs in to the registry (the image checks' keychain).
	Keychain authn.Keychain
	// Transport for the registry, Fulcio and Rekor (tests); default
	// http.DefaultTransport.
	Transport http.RoundTripper
	// UserAgent names secgate in the requests.
	UserAgent string
}

// Result is what was pushed for one image.
type Result struct {
	Image       string `json:"image"`                 // repository@sha256:…, what was signed
	Signature   string `json:"signature"`             // the .sig tag
	Attestation string `json:"attestation,omitempty"` // the .att tag
	Identity    string `json:"identity"`              // key fingerprint, or the certificate's subject and issuer
	TlogIndex   *int64 `json:"tlog_index,omitempty"`  // the signature's Rekor log index
	AttTlogIdx  *int64 `json:"attestation_tlog_index,omitempty"`
	// Attested are the attestations pushed, in the order given (the
	// verdict first).
	Attested []Attested `json:"attested,omitempty"`
}

// Attested is one attestation pushed.
type Attested struct {
	PredicateType string `json:"predicate_type"`
	TlogIndex     *int64 `json:"tlog_index,omitempty"`
}

// Signer signs images with one identity.
type Signer struct {
	opts     Options
	sv       signature.SignerVerifier
	pubPEM   []byte // the public key, for Rekor entries of key-based signatures
	cert     []byte // keyless: the Fulcio certificate (PEM) and its chain
	chain    []byte
	identity string
}

// New loads the identity: the key (a wrong password or a key that is not
// a cosign key is an error here, before anything is pushed), or for
// keyless signing a fresh key certified by Fulcio for the OIDC token.
func New(ctx context.Context, o Options) (*Signer, error) {
	if o.Transport == nil {
		o.Transport = http.DefaultTransport
	}
	if o.FulcioURL == "" {
		o.FulcioURL = DefaultFulcioURL
	}
	if o.RekorURL == "" {
		o.RekorURL = DefaultRekorURL
	}
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	s := &Signer{opts: o}
	if len(o.Key) > 0 {
		return s, s.loadKey()
	}
	if o.IDToken == "" {
		return nil, errors.New("no signing identity: give a cosign key (--sign-key, or COSIGN_PRIVATE_KEY with COSIGN_PASSWORD) or an OIDC token for keyless signing (GitHub: permissions id-token: write; GitLab: id_tokens SIGSTORE_ID_TOKEN with aud sigstore)")
	}
	if !o.TlogUpload {
		return nil, errors.New("keyless signing needs the transparency log (a Fulcio certificate lives 10 minutes; Rekor proves it was valid when signing): drop --tlog-upload=false or sign with a key")
	}
	return s, s.certify(ctx)
}

func (s *Signer) loadKey() error {
	where := "the signing key"
	if s.opts.KeyFile != "" {
		where = "signing key " + s.opts.KeyFile
	}
	if !bytes.Contains(s.opts.Key, []byte("-----BEGIN")) {
		return fmt.Errorf("%s is not a PEM key (cosign generate-key-pair writes one)", where)
	}
	sv, err := cosign.LoadPrivateKey(s.opts.Key, s.opts.Password, nil)
	if err != nil {
		if strings.Contains(err.Error(), "decrypt") {
			return fmt.Errorf("%s: wrong password (COSIGN_PASSWORD) or not a cosign key: %w", where, err)
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	pem, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	s.sv, s.pubPEM = sv, pem
	s.identity = "key " + KeyID(pub)
	return nil
}

// KeyID names a public key: sha256 of its DER encoding, as Rekor and the
// trusted root name keys.
func KeyID(pub crypto.PublicKey) string {
	der, err := cryptoutils.MarshalPublicKeyToDER(pub)
	if err != nil {
		return "unknown"
	}
	sum := sha256.Sum256(der)
	return fmt.Sprintf("sha256:%x", sum[:8])
}

// Identity says who signs: the key's id, or the certificate's subject and
// issuer.
func (s *Signer) Identity() string { return s.identity }

func (s *Signer) remoteOptions(ctx context.Context) []ociremote.Option {
	return []ociremote.Option{ociremote.WithRemoteOptions(
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(s.opts.Keychain),
		remote.WithTransport(s.opts.Transport),
		remote.WithUserAgent(s.opts.UserAgent),
	)}
}

// Sign signs the image (a digest reference, never a tag) and attests the
// statements (in-toto statements, JSON: the verdict's first, then the
// documents beside it) for it. Everything is signed and logged before
// anything is pushed: an error before the push leaves the registry as it
// was.
func (s *Signer) Sign(ctx context.Context, digestRef string, statements ...[]byte) (Result, error) {
	res := Result{Image: digestRef, Identity: s.identity}
	image, err := name.NewDigest(digestRef)
	if err != nil {
		return res, fmt.Errorf("signing %q: only a digest reference is signed: %w", digestRef, err)
	}
	if len(statements) == 0 {
		return res, fmt.Errorf("signing %s: no statement to attest", image)
	}
	ropts := s.remoteOptions(ctx)

	// The signature: cosign's simple-signing payload for the digest.
	pl, err := payload.Cosign{Image: image}.MarshalJSON()
	if err != nil {
		return res, err
	}
	rawSig, err := s.sv.SignMessage(bytes.NewReader(pl))
	if err != nil {
		return res, fmt.Errorf("signing %s: %w", image, err)
	}
	sigOpts := s.staticOptions()
	var rekor *rekorclient.Rekor
	if s.opts.TlogUpload {
		if rekor, err = rclient.GetRekorClient(s.opts.RekorURL, rclient.WithUserAgent(s.opts.UserAgent), rclient.WithRetryCount(2)); err != nil {
			return res, fmt.Errorf("transparency log %s: %w", s.opts.RekorURL, err)
		}
		h := sha256.New()
		h.Write(pl)
		entry, err := cosign.TLogUpload(ctx, rekor, rawSig, h, s.tlogKey())
		if err != nil {
			return res, fmt.Errorf("recording the signature of %s in the transparency log %s: %w", image, s.opts.RekorURL, err)
		}
		res.TlogIndex = entry.LogIndex
		sigOpts = append(sigOpts, static.WithBundle(cbundle.EntryToBundle(entry)))
	}
	sig, err := static.NewSignature(pl, base64.StdEncoding.EncodeToString(rawSig), sigOpts...)
	if err != nil {
		return res, err
	}
	if err := s.selfCheck(ctx, sig, image); err != nil {
		return res, err
	}

	// The attestations: each statement in a DSSE envelope, as cosign
	// attest makes them, with its predicate type as annotation.
	var atts []oci.Signature
	var attested []Attested
	for _, st := range statements {
		a, done, err := s.attestation(ctx, rekor, image, st)
		if err != nil {
			return res, err
		}
		atts, attested = append(atts, a), append(attested, done)
	}

	// Attach to what the registry already holds for the digest (other
	// signatures stay), then push.
	se, err := ociremote.SignedEntity(image, ropts...)
	if err != nil {
		return res, fmt.Errorf("reading %s from its registry: %w", image, err)
	}
	if se, err = mutate.AttachSignatureToEntity(se, sig, mutate.WithDupeDetector(cremote.NewDupeDetector(s.sv))); err != nil {
		return res, err
	}
	for i, att := range atts {
		if se, err = mutate.AttachAttestationToEntity(se, att, mutate.WithReplaceOp(replaceType{attested[i].PredicateType})); err != nil {
			return res, err
		}
	}
	if err := ociremote.WriteSignatures(image.Repository, se, ropts...); err != nil {
		return res, fmt.Errorf("pushing the signature of %s: %w", image, err)
	}
	sigTag, _ := ociremote.SignatureTag(image, ropts...)
	res.Signature = sigTag.String()
	if err := ociremote.WriteAttestations(image.Repository, se, ropts...); err != nil {
		return res, fmt.Errorf("pushing the %s attestation of %s (the signature was pushed): %w", attestedNames(attested), image, err)
	}
	attTag, _ := ociremote.AttestationTag(image, ropts...)
	res.Attestation = attTag.String()
	res.Attested = attested
	res.AttTlogIdx = attested[0].TlogIndex
	return res, nil
}

// attestation signs one statement, and logs it when there is a log.
func (s *Signer) attestation(ctx context.Context, rekor *rekorclient.Rekor, image name.Digest, statement []byte) (oci.Signature, Attested, error) {
	typ, err := predicateTypeOf(statement)
	if err != nil {
		return nil, Attested{}, fmt.Errorf("attesting for %s: %w", image, err)
	}
	done := Attested{PredicateType: typ}
	what := cmp.Or(KindOf(typ), typ)
	env, err := dsse.WrapSigner(s.sv, ctypes.IntotoPayloadType).SignMessage(bytes.NewReader(statement))
	if err != nil {
		return nil, done, fmt.Errorf("signing the %s attestation of %s: %w", what, image, err)
	}
	opts := append(s.staticOptions(),
		static.WithLayerMediaType(ctypes.DssePayloadType),
		static.WithAnnotations(map[string]string{"predicateType": typ}))
	if rekor != nil {
		entry, err := cosign.TLogUploadDSSEEnvelope(ctx, rekor, env, s.tlogKey())
		if err != nil {
			return nil, done, fmt.Errorf("recording the %s attestation of %s in the transparency log %s: %w", what, image, s.opts.RekorURL, err)
		}
		done.TlogIndex = entry.LogIndex
		opts = append(opts, static.WithBundle(cbundle.EntryToBundle(entry)))
	}
	att, err := static.NewAttestation(env, opts...)
	return att, done, err
}

// attestedNames says which attestations a push carried: "verdict, sbom".
func attestedNames(atts []Attested) string {
	var names []string
	for _, a := range atts {
		names = append(names, cmp.Or(KindOf(a.PredicateType), a.PredicateType))
	}
	return strings.Join(names, ", ")
}

// selfCheck verifies the signature as a verifier will — the certificate
// chain to the trusted root's Fulcio, the log entry's timestamp signed by
// its Rekor — before it is pushed, when a trusted root was given.
func (s *Signer) selfCheck(ctx context.Context, sig oci.Signature, image name.Digest) error {
	if s.opts.TrustedRoot == "" {
		return nil
	}
	tr, err := root.NewTrustedRootFromPath(s.opts.TrustedRoot)
	if err != nil {
		return fmt.Errorf("trusted root %s: %w", s.opts.TrustedRoot, err)
	}
	co := &cosign.CheckOpts{TrustedMaterial: tr, IgnoreTlog: !s.opts.TlogUpload, IgnoreSCT: len(tr.CTLogs()) == 0, ClaimVerifier: cosign.SimpleClaimVerifier}
	if s.cert == nil {
		co.SigVerifier = s.sv
	}
	h, err := v1.NewHash(image.DigestStr())
	if err != nil {
		return err
	}
	if _, err := cosign.VerifyImageSignature(ctx, sig, h, co); err != nil {
		return fmt.Errorf("the signature of %s does not verify against trusted root %s (nothing was pushed): %w", image, s.opts.TrustedRoot, err)
	}
	return nil
}

func (s *Signer) staticOptions() []static.Option {
	if s.cert != nil {
		return []static.Option{static.WithCertChain(s.cert, s.chain)}
	}
	return nil
}

// tlogKey is what Rekor records as the verifier: the certificate when
// keyless, else the public key.
func (s *Signer) tlogKey() []byte {
	if s.cert != nil {
		return s.cert
	}
	return s.pubPEM
}

// replaceType replaces an earlier attestation of the digest with the same
// predicate type (a re-run's verdict, SBOM or VEX document) and keeps
// every other attestation, as `cosign attest --replace` does.
type replaceType struct{ predicateType string }

func (r replaceType) Replace(atts oci.Signatures, att oci.Signature) (oci.Signatures, error) {
	existing, err := atts.Get()
	if err != nil {
		return nil, err
	}
	var keep []oci.Signature
	for _, e := range existing {
		if a, err := e.Annotations(); err == nil && a["predicateType"] == r.predicateType {
			continue
		}
		keep = append(keep, e)
	}
	return listed{Signatures: atts, list: append(keep, att)}, nil
}

// listed is a signature list with other members than its base image.
type listed struct {
	oci.Signatures
	list []oci.Signature
}

func (l listed) Get() ([]oci.Signature, error) { return l.list, nil }

// KeyFromEnv reads a cosign key as cosign users store it: --sign-key FILE,
// else COSIGN_PRIVATE_KEY holding the PEM itself or a file's path (GitLab
// file variables), with COSIGN_PASSWORD.
func KeyFromEnv(file string, getenv func(string) string) (key []byte, from string, err error) {
	if file == "" {
		v := getenv("COSIGN_PRIVATE_KEY")
		if v == "" {
			return nil, "", nil
		}
		if strings.Contains(v, "-----BEGIN") {
			return []byte(v), "COSIGN_PRIVATE_KEY", nil
		}
		file = v
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, file, fmt.Errorf("reading the signing key: %w", err)
	}
	return b, file, nil
}
