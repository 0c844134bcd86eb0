// Command interop hands svidca's artefacts to code that no one on the
// project wrote: go-spiffe v2 (bundle parsing, X.509-SVID verification,
// JWT-SVID validation, SPIFFE-authenticated TLS, the bundle fetcher, the
// SPIFFE ID parser) and zlint v3.  tests/interop/test_interop.py drives
// it; each subcommand judges one thing and exits 0 only when the outside
// library accepted it (or, for the *-must-fail cases, refused it).
//
//	interop bundle   -td TD BUNDLE.json
//	interop x509     -td TD -bundle BUNDLE.json [-key KEY.pem] [-at UNIX]
//	                 CHAIN.pem
//	interop jwt      -td TD -bundle BUNDLE.json -aud A [-aud B] TOKEN-FILE
//	interop mtls     -td TD -bundle BUNDLE.json -server CERT,KEY
//	                 -client CERT,KEY [-server-wants ID] [-client-wants ID]
//	interop dial     -td TD -bundle BUNDLE.json -addr HOST:PORT -want ID
//	interop fetch    -td TD -url URL (-bundle BUNDLE.json -endpoint-id ID |
//	                 -web-roots ROOTS.pem)
//	interop ids      < lines "id HEX" or "td HEX"
//	interop zlint    CERT.pem...
//	interop lints    (every zlint certificate lint and its source)
//
// Results go to standard output as JSON, one object per line, so that
// the Python side can apply the project's policy and name what failed.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/federation"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: interop bundle|x509|jwt|mtls|dial|fetch|ids|zlint|lints ...")
		os.Exit(2)
	}
	cmds := map[string]func([]string) error{
		"bundle": cmdBundle,
		"x509":   cmdX509,
		"jwt":    cmdJWT,
		"mtls":   cmdMTLS,
		"dial":   cmdDial,
		"fetch":  cmdFetch,
		"ids":    cmdIDs,
		"zlint":  cmdZlint,
		"lints":  cmdLints,
	}
	run, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	if err := run(os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "refused:", err)
		os.Exit(1)
	}
}

func emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
}

// loadBundle reads a SPIFFE bundle document for trust domain td with
// go-spiffe's own parser (which refuses the whole document on any key it
// cannot use: see the checklist's IO-02..IO-04).
func loadBundle(td, path string) (*spiffebundle.Bundle, error) {
	trust, err := spiffeid.TrustDomainFromString(td)
	if err != nil {
		return nil, err
	}
	return spiffebundle.Load(trust, path)
}

func cmdBundle(args []string) error {
	fs := flag.NewFlagSet("bundle", flag.ExitOnError)
	td := fs.String("td", "", "trust domain")
	fs.Parse(args)
	if fs.NArg() != 1 {
		return errors.New("want one bundle file")
	}
	b, err := loadBundle(*td, fs.Arg(0))
	if err != nil {
		return err
	}
	var kids []string
	for kid := range b.JWTAuthorities() {
		kids = append(kids, kid)
	}
	sort.Strings(kids)
	var subjects []string
	for _, c := range b.X509Authorities() {
		id, err := x509svid.IDFromCert(c)
		s := "(no SPIFFE ID)"
		if err == nil {
			s = id.String()
		}
		subjects = append(subjects, s)
	}
	seq, hasSeq := b.SequenceNumber()
	hint, hasHint := b.RefreshHint()
	out := map[string]any{
		"x509_authorities": subjects,
		"jwt_kids":         kids,
	}
	if hasSeq {
		out["sequence"] = seq
	}
	if hasHint {
		out["refresh_hint"] = int64(hint / time.Second)
	}
	emit(out)
	return nil
}

func readPEMCerts(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no certificate", path)
	}
	return certs, nil
}

// cmdX509 verifies a chain (leaf first) against the bundle with
// x509svid.Verify and, given the private key, also builds the SVID with
// x509svid.Load, which adds go-spiffe's leaf and signing-certificate
// rules (digitalSignature, non-root path, CA intermediates, key match).
func cmdX509(args []string) error {
	fs := flag.NewFlagSet("x509", flag.ExitOnError)
	td := fs.String("td", "", "trust domain")
	bpath := fs.String("bundle", "", "bundle file")
	key := fs.String("key", "", "private key (PEM, PKCS#8) of the leaf")
	at := fs.Int64("at", 0, "judge at this Unix time instead of now")
	fs.Parse(args)
	if fs.NArg() != 1 {
		return errors.New("want one chain file")
	}
	b, err := loadBundle(*td, *bpath)
	if err != nil {
		return err
	}
	certs, err := readPEMCerts(fs.Arg(0))
	if err != nil {
		return err
	}
	var opts []x509svid.VerifyOption
	if *at != 0 {
		opts = append(opts, x509svid.WithTime(time.Unix(*at, 0)))
	}
	id, chains, err := x509svid.Verify(certs, b, opts...)
	if err != nil {
		return err
	}
	out := map[string]any{"id": id.String(), "chains": len(chains)}
	if *key != "" {
		svid, err := x509svid.Load(fs.Arg(0), *key)
		if err != nil {
			return err
		}
		if svid.ID != id {
			return fmt.Errorf("x509svid.Load gave %s, Verify %s", svid.ID, id)
		}
		out["loaded"] = true
	}
	emit(out)
	return nil
}

func cmdJWT(args []string) error {
	fs := flag.NewFlagSet("jwt", flag.ExitOnError)
	td := fs.String("td", "", "trust domain")
	bpath := fs.String("bundle", "", "bundle file")
	var aud multiFlag
	fs.Var(&aud, "aud", "expected audience (repeatable)")
	fs.Parse(args)
	if fs.NArg() != 1 {
		return errors.New("want one token file")
	}
	b, err := loadBundle(*td, *bpath)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	svid, err := jwtsvid.ParseAndValidate(strings.TrimSpace(string(raw)), b, aud)
	if err != nil {
		return err
	}
	emit(map[string]any{
		"id":     svid.ID.String(),
		"aud":    svid.Audience,
		"expiry": svid.Expiry.Unix(),
	})
	return nil
}

func splitPair(s string) (string, string, error) {
	cert, key, ok := strings.Cut(s, ",")
	if !ok {
		return "", "", fmt.Errorf("want CERT,KEY, got %q", s)
	}
	return cert, key, nil
}

// cmdMTLS runs one mutually authenticated TLS exchange on loopback
// between two SVIDs, each side authorizing the other by SPIFFE ID with
// spiffetls/tlsconfig.  By default each side wants the other's own ID;
// -server-wants / -client-wants set another, which must then fail.
func cmdMTLS(args []string) error {
	fs := flag.NewFlagSet("mtls", flag.ExitOnError)
	td := fs.String("td", "", "trust domain")
	bpath := fs.String("bundle", "", "bundle file")
	srv := fs.String("server", "", "server CERT,KEY")
	cli := fs.String("client", "", "client CERT,KEY")
	srvWants := fs.String("server-wants", "", "ID the server authorizes")
	cliWants := fs.String("client-wants", "", "ID the client authorizes")
	fs.Parse(args)
	b, err := loadBundle(*td, *bpath)
	if err != nil {
		return err
	}
	sc, sk, err := splitPair(*srv)
	if err != nil {
		return err
	}
	cc, ck, err := splitPair(*cli)
	if err != nil {
		return err
	}
	ssvid, err := x509svid.Load(sc, sk)
	if err != nil {
		return fmt.Errorf("server SVID: %w", err)
	}
	csvid, err := x509svid.Load(cc, ck)
	if err != nil {
		return fmt.Errorf("client SVID: %w", err)
	}
	sWant, cWant := csvid.ID, ssvid.ID
	if *srvWants != "" {
		if sWant, err = spiffeid.FromString(*srvWants); err != nil {
			return err
		}
	}
	if *cliWants != "" {
		if cWant, err = spiffeid.FromString(*cliWants); err != nil {
			return err
		}
	}

	ln, err := tls.Listen("tcp", "127.0.0.1:0",
		tlsconfig.MTLSServerConfig(ssvid, b, tlsconfig.AuthorizeID(sWant)))
	if err != nil {
		return err
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			served <- fmt.Errorf("server side: %w", err)
			return
		}
		peer := conn.(*tls.Conn).ConnectionState().PeerCertificates
		id, err := x509svid.IDFromCert(peer[0])
		if err != nil {
			served <- err
			return
		}
		_, err = fmt.Fprintf(conn, "hello %s, you said %s", id, line)
		served <- err
	}()

	dialer := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", ln.Addr().String(),
		tlsconfig.MTLSClientConfig(csvid, b, tlsconfig.AuthorizeID(cWant)))
	if err != nil {
		return fmt.Errorf("client side: %w", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(conn, "ping\n"); err != nil {
		return fmt.Errorf("client write: %w", err)
	}
	reply, err := io.ReadAll(conn)
	if err != nil && len(reply) == 0 {
		return fmt.Errorf("client read: %w", err)
	}
	if err := <-served; err != nil {
		return err
	}
	emit(map[string]any{
		"server": ssvid.ID.String(),
		"client": csvid.ID.String(),
		"reply":  string(reply),
	})
	return nil
}

// cmdDial connects to a TLS listener (ours) as a go-spiffe client that
// authorizes the server by SPIFFE ID, presenting no certificate.
func cmdDial(args []string) error {
	fs := flag.NewFlagSet("dial", flag.ExitOnError)
	td := fs.String("td", "", "trust domain")
	bpath := fs.String("bundle", "", "bundle file")
	addr := fs.String("addr", "", "host:port")
	want := fs.String("want", "", "SPIFFE ID the server must present")
	fs.Parse(args)
	b, err := loadBundle(*td, *bpath)
	if err != nil {
		return err
	}
	id, err := spiffeid.FromString(*want)
	if err != nil {
		return err
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", *addr,
		tlsconfig.TLSClientConfig(b, tlsconfig.AuthorizeID(id)))
	if err != nil {
		return err
	}
	defer conn.Close()
	st := conn.ConnectionState()
	emit(map[string]any{
		"version": tls.VersionName(st.Version),
		"cipher":  tls.CipherSuiteName(st.CipherSuite),
		"chain":   len(st.PeerCertificates),
	})
	return nil
}

// cmdFetch fetches a bundle over HTTPS with go-spiffe's federation
// client, authenticating the endpoint by its SPIFFE ID (https_spiffe) or
// by Web PKI roots (https_web).
func cmdFetch(args []string) error {
	fs := flag.NewFlagSet("fetch", flag.ExitOnError)
	td := fs.String("td", "", "trust domain of the fetched bundle")
	url := fs.String("url", "", "endpoint URL")
	bpath := fs.String("bundle", "", "bundle that authenticates the endpoint (https_spiffe)")
	epid := fs.String("endpoint-id", "", "endpoint SPIFFE ID (https_spiffe)")
	roots := fs.String("web-roots", "", "PEM roots (https_web)")
	fs.Parse(args)
	trust, err := spiffeid.TrustDomainFromString(*td)
	if err != nil {
		return err
	}
	var opt federation.FetchOption
	switch {
	case *bpath != "" && *epid != "":
		b, err := loadBundle(*td, *bpath)
		if err != nil {
			return err
		}
		id, err := spiffeid.FromString(*epid)
		if err != nil {
			return err
		}
		opt = federation.WithSPIFFEAuth(b, id)
	case *roots != "":
		certs, err := readPEMCerts(*roots)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		for _, c := range certs {
			pool.AddCert(c)
		}
		opt = federation.WithWebPKIRoots(pool)
	default:
		return errors.New("want -bundle and -endpoint-id, or -web-roots")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := federation.FetchBundle(ctx, trust, *url, opt)
	if err != nil {
		return err
	}
	seq, _ := b.SequenceNumber()
	emit(map[string]any{
		"x509_authorities": len(b.X509Authorities()),
		"jwt_authorities":  len(b.JWTAuthorities()),
		"sequence":         seq,
	})
	return nil
}

// cmdIDs reads "id HEX" or "td HEX" lines (hex, because inputs may hold
// NUL bytes and newlines) and answers one line each: "accept" or
// "reject <reason>", from spiffeid.FromString and
// spiffeid.TrustDomainFromString.
func cmdIDs(args []string) error {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for sc.Scan() {
		kind, h, _ := strings.Cut(sc.Text(), " ")
		raw, err := hex.DecodeString(h)
		if err != nil {
			return fmt.Errorf("bad hex: %w", err)
		}
		s := string(raw)
		switch kind {
		case "id":
			_, err = spiffeid.FromString(s)
		case "td":
			// TrustDomainFromString also takes "spiffe://td"; the
			// vectors' bare names never contain ":/", so this
			// judges the bare-name rules only.
			_, err = spiffeid.TrustDomainFromString(s)
		default:
			return fmt.Errorf("bad kind %q", kind)
		}
		if err != nil {
			fmt.Fprintf(w, "reject %s\n", err)
		} else {
			fmt.Fprintln(w, "accept")
		}
	}
	return sc.Err()
}

// cmdZlint runs every zlint certificate lint on each file and prints one
// line per lint that did not pass or stay silent (notice, warn, error,
// fatal), with the lint's source.  The policy (which sources bind us,
// which lints are excluded and why) lives in the Python test.
func cmdZlint(args []string) error {
	reg := lint.GlobalRegistry()
	for _, path := range args {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		blk, _ := pem.Decode(data)
		if blk == nil {
			return fmt.Errorf("%s: not PEM", path)
		}
		c, err := zx509.ParseCertificate(blk.Bytes)
		if err != nil {
			return fmt.Errorf("%s: zcrypto: %w", path, err)
		}
		rs := zlint.LintCertificate(c)
		names := make([]string, 0, len(rs.Results))
		for name := range rs.Results {
			names = append(names, name)
		}
		sort.Strings(names)
		ran := 0
		for _, name := range names {
			r := rs.Results[name]
			if r.Status == lint.NA || r.Status == lint.NE {
				continue
			}
			ran++
			if r.Status == lint.Pass {
				continue
			}
			src := "Unknown"
			if l := reg.ByName(name); l != nil {
				src = string(l.Source)
			}
			emit(map[string]any{
				"file":    path,
				"lint":    name,
				"source":  src,
				"status":  r.Status.String(),
				"details": r.Details,
			})
		}
		emit(map[string]any{"file": path, "ran": ran})
	}
	return nil
}

// cmdLints lists zlint's certificate lints with their sources, so the
// test can check that every lint its policy names exists.
func cmdLints(args []string) error {
	for _, l := range lint.GlobalRegistry().CertificateLints().Lints() {
		emit(map[string]any{"lint": l.Name, "source": string(l.Source)})
	}
	return nil
}
