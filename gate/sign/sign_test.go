package sign_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/secgate/secgate/gate/sign"
	"github.com/secgate/secgate/gate/sign/signtest"
)

func statement(t *testing.T, d name.Digest, verdict, env string, at time.Time) []byte {
	t.Helper()
	b, err := sign.NewStatement(d.String(), sign.Verdict{Verdict: verdict, Environment: env, Time: at, Gate: sign.Tool{Name: "secgate", Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keySigner(t *testing.T, priv []byte, password string, tlog bool, rekorURL string) *sign.Signer {
	t.Helper()
	s, err := sign.New(context.Background(), sign.Options{Key: priv, Password: []byte(password), TlogUpload: tlog, RekorURL: rekorURL})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func notVerified(t *testing.T, err error, want string) {
	t.Helper()
	var nv *sign.NotVerified
	if !errors.As(err, &nv) {
		t.Fatalf("want a refusal (%s), got %v", want, err)
	}
	if !strings.Contains(nv.Reason, want) {
		t.Fatalf("refusal %q does not say %q", nv.Reason, want)
	}
}

func TestKeySignVerifyAndTamper(t *testing.T) {
	ctx := context.Background()
	host := signtest.Registry(t)
	priv, pub := signtest.KeyPair(t, "s3cret")
	d := signtest.PushRandom(t, host+"/app:1.0")
	now := time.Now()

	s := keySigner(t, priv, "s3cret", false, "")
	res, err := s.Sign(ctx, d.String(), statement(t, d, "pass", "production", now))
	if err != nil {
		t.Fatal(err)
	}
	wantSig := host + "/app:sha256-" + d.DigestStr()[len("sha256:"):] + ".sig"
	if res.Signature != wantSig || res.Attestation != strings.TrimSuffix(wantSig, ".sig")+".att" {
		t.Fatalf("pushed %s and %s, want the cosign tag scheme %s", res.Signature, res.Attestation, wantSig)
	}
	if !strings.HasPrefix(res.Identity, "key sha256:") {
		t.Fatalf("identity %q", res.Identity)
	}

	opts := sign.VerifyOptions{Key: pub, IgnoreTlog: true, Now: now}
	for _, ref := range []string{host + "/app:1.0", d.String()} {
		v, err := sign.Verify(ctx, ref, opts)
		if err != nil {
			t.Fatalf("verify %s: %v", ref, err)
		}
		if v.Image != d.String() || v.Verdict.Verdict != "pass" || v.Verdict.Environment != "production" {
			t.Fatalf("verified %+v", v)
		}
	}

	// Re-running the gate on the same digest does not pile up signatures
	// or verdicts.
	if _, err := s.Sign(ctx, d.String(), statement(t, d, "pass", "production", now)); err != nil {
		t.Fatal(err)
	}
	if n := len(signtest.Tags(t, host+"/app")); n != 3 {
		t.Fatalf("%d tags after signing twice, want the image's, .sig and .att", n)
	}
	for suffix, want := range map[string]int{".sig": 1, ".att": 1} {
		tag, _ := name.NewTag(host + "/app:sha256-" + d.DigestStr()[7:] + suffix)
		img, err := remote.Image(tag)
		if err != nil {
			t.Fatal(err)
		}
		layers, _ := img.Layers()
		if len(layers) != want {
			t.Fatalf("%s holds %d layers after signing twice, want %d", suffix, len(layers), want)
		}
	}

	t.Run("wrong key", func(t *testing.T) {
		_, other := signtest.KeyPair(t, "x")
		_, err := sign.Verify(ctx, d.String(), sign.VerifyOptions{Key: other, IgnoreTlog: true})
		notVerified(t, err, "no valid signature")
	})
	t.Run("max age", func(t *testing.T) {
		o := opts
		o.MaxAge, o.Now = 7*24*time.Hour, now.Add(8*24*time.Hour)
		_, err := sign.Verify(ctx, d.String(), o)
		notVerified(t, err, "older than")
	})
	t.Run("environment", func(t *testing.T) {
		o := opts
		o.Environment = "staging"
		_, err := sign.Verify(ctx, d.String(), o)
		notVerified(t, err, `not "staging"`)
	})
	t.Run("tag pushed again after signing", func(t *testing.T) {
		signtest.PushRandom(t, host+"/app:1.0")
		_, err := sign.Verify(ctx, host+"/app:1.0", opts)
		notVerified(t, err, "no valid signature")
	})
	t.Run("attestation says fail", func(t *testing.T) {
		d2 := signtest.PushRandom(t, host+"/failing:1")
		if _, err := s.Sign(ctx, d2.String(), statement(t, d2, "fail", "production", now)); err != nil {
			t.Fatal(err)
		}
		_, err := sign.Verify(ctx, d2.String(), opts)
		notVerified(t, err, `the verdict is "fail"`)
	})
	t.Run("signature of another digest", func(t *testing.T) {
		d3 := signtest.PushRandom(t, host+"/copy:1")
		// Copy d's signature and attestation onto d3's tags.
		for _, suffix := range []string{".sig", ".att"} {
			src, _ := name.NewTag(host + "/app:sha256-" + d.DigestStr()[7:] + suffix)
			dst, _ := name.NewTag(host + "/copy:sha256-" + d3.DigestStr()[7:] + suffix)
			desc, err := remote.Get(src)
			if err != nil {
				t.Fatal(err)
			}
			img, _ := desc.Image()
			if err := remote.Write(dst, img); err != nil {
				t.Fatal(err)
			}
		}
		_, err := sign.Verify(ctx, d3.String(), opts)
		notVerified(t, err, "no valid signature")
	})
	t.Run("unsigned", func(t *testing.T) {
		d4 := signtest.PushRandom(t, host+"/unsigned:1")
		_, err := sign.Verify(ctx, d4.String(), opts)
		notVerified(t, err, "no valid signature")
	})
	t.Run("registry down is not a refusal", func(t *testing.T) {
		_, err := sign.Verify(ctx, "127.0.0.1:1/app:1", opts)
		var nv *sign.NotVerified
		if err == nil || errors.As(err, &nv) {
			t.Fatalf("want an error that is not a refusal, got %v", err)
		}
	})
	t.Run("bad public key", func(t *testing.T) {
		_, err := sign.Verify(ctx, d.String(), sign.VerifyOptions{Key: []byte("not a key"), KeyFile: "cosign.pub"})
		var nv *sign.NotVerified
		if err == nil || errors.As(err, &nv) || !strings.Contains(err.Error(), "cosign.pub") {
			t.Fatalf("want an error naming the key file, got %v", err)
		}
	})
}

func TestBadKeyPushesNothing(t *testing.T) {
	priv, _ := signtest.KeyPair(t, "right")
	for name, o := range map[string]sign.Options{
		"wrong password": {Key: priv, Password: []byte("wrong"), KeyFile: "cosign.key"},
		"not a key":      {Key: []byte("hello"), KeyFile: "cosign.key"},
		"public key":     {Key: []byte("-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"), KeyFile: "cosign.key"},
		"no identity":    {},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := sign.New(context.Background(), o)
			if err == nil {
				t.Fatal("no error")
			}
			if o.KeyFile != "" && !strings.Contains(err.Error(), "cosign.key") {
				t.Fatalf("%v does not name the key", err)
			}
			if strings.Contains(err.Error(), "right") {
				t.Fatal("the error shows the password")
			}
		})
	}
}

func TestRegistryRefusesThePush(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusInternalServerError} {
		reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256-") {
				w.WriteHeader(status)
				return
			}
			reg.ServeHTTP(w, r)
		}))
		u, _ := url.Parse(srv.URL)
		d := signtest.PushRandom(t, u.Host+"/app:1")
		priv, _ := signtest.KeyPair(t, "p")
		_, err := keySigner(t, priv, "p", false, "").Sign(context.Background(), d.String(), statement(t, d, "pass", "", time.Now()))
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), "pushing the signature") {
			t.Fatalf("HTTP %d: want a push error, got %v", status, err)
		}
	}
}

func TestKeyWithTransparencyLog(t *testing.T) {
	ctx := context.Background()
	ss := signtest.NewSigstore(t)
	host := signtest.Registry(t)
	priv, pub := signtest.KeyPair(t, "pw")
	d := signtest.PushRandom(t, host+"/app:2")
	res, err := keySigner(t, priv, "pw", true, ss.RekorURL).Sign(ctx, d.String(), statement(t, d, "pass", "", time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if res.TlogIndex == nil || res.AttTlogIdx == nil || strings.Join(ss.Uploads, ",") != "hashedrekord,dsse" {
		t.Fatalf("logged %v (indexes %v %v)", ss.Uploads, res.TlogIndex, res.AttTlogIdx)
	}
	if _, err := sign.Verify(ctx, d.String(), sign.VerifyOptions{Key: pub, TrustedRoot: ss.TrustedRoot}); err != nil {
		t.Fatal(err)
	}
	// Another deployment's log key does not vouch for these entries.
	other := signtest.NewSigstore(t)
	_, err = sign.Verify(ctx, d.String(), sign.VerifyOptions{Key: pub, TrustedRoot: other.TrustedRoot})
	notVerified(t, err, "no valid signature")
}

func TestKeyless(t *testing.T) {
	ctx := context.Background()
	ss := signtest.NewSigstore(t)
	host := signtest.Registry(t)
	d := signtest.PushRandom(t, host+"/app:3")
	identity := "https://github.com/acme/app/.github/workflows/ci.yml@refs/heads/main"
	s, err := sign.New(ctx, sign.Options{IDToken: ss.Token(identity), FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL, TlogUpload: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Identity(), identity) || !strings.Contains(s.Identity(), ss.Issuer) {
		t.Fatalf("identity %q", s.Identity())
	}
	res, err := s.Sign(ctx, d.String(), statement(t, d, "pass", "production", time.Now()),
		document(t, d, sign.PredicateSPDX, spdxDoc), document(t, d, sign.PredicateOpenVEX, vexDoc))
	if err != nil {
		t.Fatal(err)
	}
	// Every attestation is logged, the documents' too.
	if len(res.Attested) != 3 || res.Attested[1].TlogIndex == nil || res.Attested[2].TlogIndex == nil || strings.Join(ss.Uploads, ",") != "hashedrekord,dsse,dsse,dsse" {
		t.Fatalf("attested %+v, logged %v", res.Attested, ss.Uploads)
	}
	ok := sign.VerifyOptions{CertIdentity: identity, CertOIDCIssuer: ss.Issuer, TrustedRoot: ss.TrustedRoot}
	req := ok
	req.Require = []string{"sbom", "vex"}
	v, err := sign.Verify(ctx, host+"/app:3", req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v.Identity, identity) || len(v.Attestations) != 3 {
		t.Fatalf("verified identity %q, attestations %v", v.Identity, v.Attestations)
	}
	// Another identity of the same issuer attests an SBOM of an image we
	// signed without one: not ours, refused.
	dd := signtest.PushRandom(t, host+"/docs:1")
	if _, err := s.Sign(ctx, dd.String(), statement(t, dd, "pass", "", time.Now())); err != nil {
		t.Fatal(err)
	}
	intruder, err := sign.New(ctx, sign.Options{IDToken: ss.Token("https://github.com/evil/app/.github/workflows/ci.yml@refs/heads/main"), FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL, TlogUpload: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := intruder.Sign(ctx, dd.String(), document(t, dd, sign.PredicateCycloneDX, cdxDoc)); err != nil {
		t.Fatal(err)
	}
	_, err = sign.Verify(ctx, dd.String(), req)
	notVerified(t, err, "no SBOM attestation")
	re := ok
	re.CertIdentity, re.CertIdentityRegexp = "", `^https://github\.com/acme/`
	if _, err := sign.Verify(ctx, d.String(), re); err != nil {
		t.Fatal(err)
	}

	wrong := ok
	wrong.CertIdentity = "https://github.com/evil/app/.github/workflows/ci.yml@refs/heads/main"
	_, err = sign.Verify(ctx, d.String(), wrong)
	notVerified(t, err, "no valid signature")
	wrongIssuer := ok
	wrongIssuer.CertOIDCIssuer = "https://gitlab.com"
	_, err = sign.Verify(ctx, d.String(), wrongIssuer)
	notVerified(t, err, "no valid signature")

	// With a trusted root, what Fulcio and Rekor returned is checked before
	// the push: another deployment's root refuses it, and nothing is pushed.
	d2 := signtest.PushRandom(t, host+"/pinned:1")
	other := signtest.NewSigstore(t)
	for _, tc := range []struct {
		root string
		ok   bool
	}{{ss.TrustedRoot, true}, {other.TrustedRoot, false}} {
		ps, err := sign.New(ctx, sign.Options{IDToken: ss.Token(identity), FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL, TlogUpload: true, TrustedRoot: tc.root})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ps.Sign(ctx, d2.String(), statement(t, d2, "pass", "", time.Now()))
		if (err == nil) != tc.ok {
			t.Fatalf("trusted root %s: %v", tc.root, err)
		}
		if !tc.ok && (!strings.Contains(err.Error(), "nothing was pushed") || len(signtest.Tags(t, host+"/pinned")) != 3) {
			t.Fatalf("refused with %v, tags %v", err, signtest.Tags(t, host+"/pinned"))
		}
	}

	// A token from an issuer Fulcio does not trust gets no certificate.
	foreign := other.Token(identity)
	if _, err := sign.New(ctx, sign.Options{IDToken: foreign, FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL, TlogUpload: true}); err == nil || strings.Contains(err.Error(), foreign[len(foreign)-12:]) {
		t.Fatalf("want a Fulcio refusal that does not show the token, got %v", err)
	}
	if _, err := sign.New(ctx, sign.Options{IDToken: ss.Token(identity), FulcioURL: ss.FulcioURL, TlogUpload: false}); err == nil {
		t.Fatal("keyless signing without the transparency log")
	}
}

func TestIDTokenFromGitHub(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		_, _ = io.WriteString(w, `{"count":1,"value":"eyJ.tok.en"}`)
	}))
	defer srv.Close()
	env := map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": srv.URL + "/token?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "req-tok"}
	tok, err := sign.IDToken(context.Background(), func(k string) string { return env[k] }, nil)
	if err != nil || tok != "eyJ.tok.en" {
		t.Fatalf("token %q, %v", tok, err)
	}
	if got.URL.Query().Get("audience") != "sigstore" || got.URL.Query().Get("api-version") != "2.0" || got.Header.Get("Authorization") != "Bearer req-tok" {
		t.Fatalf("request %s %v", got.URL, got.Header)
	}
	env = map[string]string{"SIGSTORE_ID_TOKEN": "gl.tok.en"}
	if tok, _ := sign.IDToken(context.Background(), func(k string) string { return env[k] }, nil); tok != "gl.tok.en" {
		t.Fatalf("GitLab token %q", tok)
	}
	if tok, err := sign.IDToken(context.Background(), func(string) string { return "" }, nil); tok != "" || err != nil {
		t.Fatalf("no token: %q %v", tok, err)
	}
}

func TestKeyFromEnv(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "cosign.key")
	if err := os.WriteFile(p, []byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"COSIGN_PRIVATE_KEY": p}
	k, from, err := sign.KeyFromEnv("", func(s string) string { return env[s] })
	if err != nil || from != p || !strings.Contains(string(k), "BEGIN") {
		t.Fatalf("file variable: %q %q %v", k, from, err)
	}
	env["COSIGN_PRIVATE_KEY"] = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\ny\n"
	if _, from, _ := sign.KeyFromEnv("", func(s string) string { return env[s] }); from != "COSIGN_PRIVATE_KEY" {
		t.Fatalf("inline variable read from %q", from)
	}
	if _, _, err := sign.KeyFromEnv(filepath.Join(dir, "missing.key"), func(string) string { return "" }); err == nil {
		t.Fatal("missing key file")
	}
}
