// Package signtest gives sign's tests (and the CLI's) what the public
// Sigstore instance gives in real CI: a Fulcio that certifies keys for
// OIDC tokens, a Rekor that logs entries and signs their timestamps, and
// the trusted root that names both — in-process, over httptest. It also
// makes cosign key pairs and hosts an in-process registry.
package signtest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jsoncanonicalizer "github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/secgate/secgate/gate/image/imagetest"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"         // entry kinds the fake Rekor accepts
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1" // (as cosign uploads them)
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// KeyPair makes a cosign key pair (the private key encrypted with the
// password, as `cosign generate-key-pair` writes it).
func KeyPair(t testing.TB, password string) (private, public []byte) {
	t.Helper()
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(password), nil })
	if err != nil {
		t.Fatal(err)
	}
	return kb.PrivateBytes, kb.PublicBytes
}

// Registry starts an in-process registry; its host:port.
func Registry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u.Host
}

// PushRandom pushes a random image to ref (a tag); its digest reference.
func PushRandom(t testing.TB, ref string) name.Digest {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	d, err := name.NewDigest(imagetest.Push(t, tag.String(), img))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Sigstore is a private Sigstore deployment: Fulcio, Rekor, their trusted
// root, and an OIDC issuer whose tokens Fulcio accepts.
type Sigstore struct {
	FulcioURL, RekorURL string
	TrustedRoot         string // path of the trusted root JSON
	Issuer              string // the OIDC issuer URL its tokens name

	rootCert, interCert *x509.Certificate
	interKey            *ecdsa.PrivateKey
	rekorKey            *ecdsa.PrivateKey
	logID               string

	mu      sync.Mutex
	entries int
	Uploads []string // entry kinds logged, in order
}

// NewSigstore starts the deployment.
func NewSigstore(t testing.TB) *Sigstore {
	t.Helper()
	s := &Sigstore{}
	now := time.Now()
	var err error
	rootKey := mustKey(t)
	s.rootCert = mustCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test fulcio root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, rootKey, &rootKey.PublicKey)
	s.interKey = mustKey(t)
	s.interCert = mustCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "test fulcio intermediate"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}, s.rootCert, rootKey, &s.interKey.PublicKey)
	s.rekorKey = mustKey(t)
	der, _ := x509.MarshalPKIXPublicKey(&s.rekorKey.PublicKey)
	sum := sha256.Sum256(der)
	s.logID = hex.EncodeToString(sum[:])

	fulcio := httptest.NewServer(http.HandlerFunc(s.serveFulcio))
	t.Cleanup(fulcio.Close)
	rekor := httptest.NewServer(http.HandlerFunc(s.serveRekor))
	t.Cleanup(rekor.Close)
	s.FulcioURL, s.RekorURL = fulcio.URL, rekor.URL
	s.Issuer = fulcio.URL + "/oidc" // one issuer per deployment

	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{&root.FulcioCertificateAuthority{
			Root: s.rootCert, Intermediates: []*x509.Certificate{s.interCert},
			ValidityPeriodStart: now.Add(-time.Hour), URI: s.FulcioURL,
		}},
		nil, nil,
		map[string]*root.TransparencyLog{s.logID: {
			BaseURL: s.RekorURL, ID: sum[:], ValidityPeriodStart: now.Add(-time.Hour),
			HashFunc: crypto.SHA256, PublicKey: &s.rekorKey.PublicKey, SignatureHashFunc: crypto.SHA256,
		}})
	if err != nil {
		t.Fatal(err)
	}
	js, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	s.TrustedRoot = filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(s.TrustedRoot, js, 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// RekorPublicKey is the log's key (PEM), as cosign's
// SIGSTORE_REKOR_PUBLIC_KEY takes it.
func (s *Sigstore) RekorPublicKey() []byte {
	b, _ := cryptoutils.MarshalPublicKeyToPEM(&s.rekorKey.PublicKey)
	return b
}

// Token is an OIDC token for subject from this deployment's issuer (the
// fake Fulcio trusts the issuer's tokens; it checks their shape, not a
// signature).
func (s *Sigstore) Token(subject string) string {
	enc := base64.RawURLEncoding
	claims, _ := json.Marshal(map[string]any{
		"iss": s.Issuer, "sub": subject, "aud": "sigstore",
		"exp": time.Now().Add(10 * time.Minute).Unix(), "iat": time.Now().Unix(),
	})
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc.EncodeToString(claims) + ".c2ln"
}

// Fulcio's certificate extensions naming the token's issuer.
var (
	OIDIssuerV1 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	OIDIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
)

func (s *Sigstore) serveFulcio(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/signingCert" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	parts := strings.Split(tok, ".")
	if !ok || len(parts) != 3 {
		http.Error(w, "no bearer token", http.StatusUnauthorized)
		return
	}
	var claims struct{ Iss, Sub string }
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(raw, &claims) != nil || claims.Iss != s.Issuer || claims.Sub == "" {
		http.Error(w, "token not from a trusted issuer", http.StatusUnauthorized)
		return
	}
	var req struct {
		PublicKeyRequest struct {
			PublicKey         struct{ Content string }
			ProofOfPossession string
		}
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(req.PublicKeyRequest.PublicKey.Content))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// Proof of possession: the subject signed by the key.
	pop, _ := base64.StdEncoding.DecodeString(req.PublicKeyRequest.ProofOfPossession)
	digest := sha256.Sum256([]byte(claims.Sub))
	if ek, ok := pub.(*ecdsa.PublicKey); !ok || !ecdsa.VerifyASN1(ek, digest[:], pop) {
		http.Error(w, "proof of possession fails", http.StatusBadRequest)
		return
	}
	issuer, _ := asn1.Marshal(claims.Iss)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		NotBefore:    time.Now().Add(-time.Minute), NotAfter: time.Now().Add(10 * time.Minute),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		// As Fulcio: the issuer raw (1.1, what cosign v2 reads) and DER (1.8).
		ExtraExtensions: []pkix.Extension{{Id: OIDIssuerV1, Value: []byte(claims.Iss)}, {Id: OIDIssuerV2, Value: issuer}},
	}
	if u, err := url.Parse(claims.Sub); err == nil && u.Scheme != "" {
		tmpl.URIs = []*url.URL{u}
	} else {
		tmpl.EmailAddresses = []string{claims.Sub}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.interCert, pub, s.interKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	chain := []string{pemCert(der), pemCert(s.interCert.Raw), pemCert(s.rootCert.Raw)}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}}})
}

func (s *Sigstore) serveRekor(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/log/entries" {
		http.Error(w, `{"code":404,"message":"not found"}`, http.StatusNotFound)
		return
	}
	pe, err := models.UnmarshalProposedEntry(r.Body, nil)
	if err != nil {
		http.Error(w, `{"code":400,"message":"bad entry"}`, http.StatusBadRequest)
		return
	}
	impl, err := types.UnmarshalEntry(pe)
	if err != nil {
		http.Error(w, fmt.Sprintf(`{"code":400,"message":%q}`, err.Error()), http.StatusBadRequest)
		return
	}
	body, err := types.CanonicalizeEntry(r.Context(), impl)
	if err != nil {
		http.Error(w, fmt.Sprintf(`{"code":400,"message":%q}`, err.Error()), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	idx := int64(s.entries)
	s.entries++
	s.Uploads = append(s.Uploads, pe.Kind())
	s.mu.Unlock()
	integrated := time.Now().Unix()
	b64 := base64.StdEncoding.EncodeToString(body)
	setPayload, _ := json.Marshal(map[string]any{"body": b64, "integratedTime": integrated, "logIndex": idx, "logID": s.logID})
	canon, err := jsoncanonicalizer.Transform(setPayload)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	d := sha256.Sum256(canon)
	set, _ := ecdsa.SignASN1(rand.Reader, s.rekorKey, d[:])
	leaf := sha256.Sum256(append([]byte{0}, body...))
	uuid := hex.EncodeToString(leaf[:])
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", "/api/v1/log/entries/"+uuid)
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{uuid: map[string]any{
		"body": b64, "integratedTime": integrated, "logID": s.logID, "logIndex": idx,
		"verification": map[string]any{"signedEntryTimestamp": base64.StdEncoding.EncodeToString(set)},
	}})
}

func mustKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustCert(t testing.TB, tmpl, parent *x509.Certificate, key *ecdsa.PrivateKey, pub crypto.PublicKey) *x509.Certificate {
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pemCert(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// Tags lists a repository's tags (the .sig and .att tags among them).
func Tags(t testing.TB, repo string) []string {
	t.Helper()
	r, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(r)
	if err != nil {
		t.Fatal(err)
	}
	return tags
}

// Statement is an in-toto statement as an attestation carries it.
type Statement struct {
	Type          string             `json:"_type"`
	PredicateType string             `json:"predicateType"`
	Subject       []StatementSubject `json:"subject"`
	Predicate     json.RawMessage    `json:"predicate"`
}

// StatementSubject is what a statement is about.
type StatementSubject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// VerifiedStatements verifies the attestations of image (a digest
// reference) with cosign's library, as `cosign verify-attestation --key
// PUB --insecure-ignore-tlog --type T` does (the signature by the key, the
// statement's subject the digest), and returns the statements of
// predicateType.
func VerifiedStatements(t testing.TB, image string, pub []byte, predicateType string) []Statement {
	t.Helper()
	d, err := name.NewDigest(image)
	if err != nil {
		t.Fatal(err)
	}
	key, err := cryptoutils.UnmarshalPEMToPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	v, err := signature.LoadVerifier(key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	atts, _, err := cosign.VerifyImageAttestations(context.Background(), d, &cosign.CheckOpts{SigVerifier: v, IgnoreTlog: true, ClaimVerifier: cosign.IntotoSubjectClaimVerifier})
	if err != nil {
		t.Fatalf("cosign verifies no attestation of %s: %v", d, err)
	}
	var out []Statement
	for _, att := range atts {
		raw, err := att.Payload()
		if err != nil {
			t.Fatal(err)
		}
		var env struct{ Payload string }
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatal(err)
		}
		body, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			t.Fatal(err)
		}
		var st Statement
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatal(err)
		}
		if st.PredicateType == predicateType {
			out = append(out, st)
		}
	}
	return out
}
