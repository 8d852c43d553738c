package main

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"testing"
)

func TestLabCertificateRSA2048ForLoopback(t *testing.T) {
	lab, _ := startTestLab(t, nil)
	conn, err := tls.Dial("tcp", lab.URL.Host, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cert := conn.ConnectionState().PeerCertificates[0]
	key, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || key.N.BitLen() < 2048 {
		t.Fatalf("want an RSA key of at least 2048 bits, got %T", cert.PublicKey)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "127.0.0.1", Roots: pool}); err != nil {
		t.Fatalf("certificate does not verify for 127.0.0.1: %v", err)
	}
	a, _ := labCertificate()
	b, _ := labCertificate()
	if string(a.Certificate[0]) == string(b.Certificate[0]) {
		t.Fatal("two starts share a certificate")
	}
}
