package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// IDToken finds an OIDC token for keyless signing: SIGSTORE_ID_TOKEN
// (GitLab's id_tokens, or any CI that sets it), else GitHub Actions' token
// service (ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN, present when the job
// has permissions id-token: write), asked for audience sigstore. No token
// is "", nil: the caller says signing was skipped.
func IDToken(ctx context.Context, getenv func(string) string, rt http.RoundTripper) (string, error) {
	if t := getenv("SIGSTORE_ID_TOKEN"); t != "" {
		return t, nil
	}
	reqURL, reqTok := getenv("ACTIONS_ID_TOKEN_REQUEST_URL"), getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	if reqURL == "" || reqTok == "" {
		return "", nil
	}
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", fmt.Errorf("ACTIONS_ID_TOKEN_REQUEST_URL: %w", err)
	}
	q := u.Query()
	q.Set("audience", "sigstore")
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+reqTok)
	req.Header.Set("Accept", "application/json")
	if rt == nil {
		rt = http.DefaultTransport
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return "", fmt.Errorf("requesting an OIDC token from GitHub Actions: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("requesting an OIDC token from GitHub Actions: HTTP %d", resp.StatusCode)
	}
	var out struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Value == "" {
		return "", errors.New("requesting an OIDC token from GitHub Actions: the answer holds no token")
	}
	return out.Value, nil
}

// certify makes a fresh key and has Fulcio certify it for the OIDC token.
func (s *Signer) certify(ctx context.Context) error {
	priv, err := cosign.GeneratePrivateKey()
	if err != nil {
		return err
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return err
	}
	fulcio := sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: s.opts.FulcioURL, Transport: s.opts.Transport, Retries: 2})
	der, err := fulcio.GetCertificate(ctx, keypair{priv}, &sgsign.CertificateProviderOptions{IDToken: s.opts.IDToken})
	if err != nil {
		return fmt.Errorf("getting a signing certificate from Fulcio %s: %w", s.opts.FulcioURL, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("the certificate Fulcio %s returned: %w", s.opts.FulcioURL, err)
	}
	if !cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(priv.Public()) {
		return fmt.Errorf("the certificate from Fulcio %s is for another key than ours", s.opts.FulcioURL)
	}
	pem, err := cryptoutils.MarshalCertificateToPEM(cert)
	if err != nil {
		return err
	}
	s.sv, s.cert = sv, pem
	s.identity = CertIdentity(cert)
	return nil
}

// CertIdentity is a certificate's subject and OIDC issuer, as cosign's
// --certificate-identity and --certificate-oidc-issuer name them.
func CertIdentity(cert *x509.Certificate) string {
	ext, _ := certificate.ParseExtensions(cert.Extensions)
	return fmt.Sprintf("%s (issuer %s)", certSubject(cert), ext.Issuer)
}

func certSubject(cert *x509.Certificate) string {
	switch {
	case len(cert.EmailAddresses) > 0:
		return cert.EmailAddresses[0]
	case len(cert.URIs) > 0:
		return cert.URIs[0].String()
	}
	return cert.Subject.String()
}

// keypair is sigstore-go's view of our ephemeral key, for Fulcio's proof
// of possession.
type keypair struct{ priv *ecdsa.PrivateKey }

func (keypair) GetHashAlgorithm() protocommon.HashAlgorithm {
	return protocommon.HashAlgorithm_SHA2_256
}
func (keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256
}
func (keypair) GetHint() []byte                  { return nil }
func (keypair) GetKeyAlgorithm() string          { return "ECDSA" }
func (k keypair) GetPublicKey() crypto.PublicKey { return k.priv.Public() }
func (k keypair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.priv.Public())
	return string(b), err
}
func (k keypair) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	sum := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, sum[:])
	return sig, sum[:], err
}
