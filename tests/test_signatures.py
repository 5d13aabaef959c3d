"""Detached CMS signature verification against a PKI built here, at test time."""

from collections.abc import Iterator

import pytest
from asn1crypto import cms

from evidence.signatures import load_crls, load_trust_anchors, verify_detached
from tests.factories import PARTY_BIN
from tests.pki import Identity, make_ca, make_crl, make_signer

DATA = b"%PDF-1.7\n% SWIFT MT103 copy for invoice 77/2026\n"


@pytest.fixture(scope="module")
def ca() -> Iterator[Identity]:
    yield make_ca()


def check(ca: Identity, signature: bytes, data: bytes = DATA, party: str = PARTY_BIN) -> str:
    return verify_detached(data, signature, party, load_trust_anchors(ca.pem()), "soft-fail").status


@pytest.mark.parametrize("key_kind", ["rsa", "ec"])
def test_a_party_signature_verifies(ca: Identity, key_kind: str) -> None:
    signer = make_signer(ca, bin_=PARTY_BIN, key_kind=key_kind)
    result = verify_detached(DATA, signer.sign(DATA), PARTY_BIN, load_trust_anchors(ca.pem()))
    assert result.status == "valid", result.detail
    assert result.signer is not None and result.signer.bin == PARTY_BIN
    assert result.signing_time is not None and result.revocation.startswith("soft-fail")


def test_an_entrepreneur_signs_with_the_iin(ca: Identity) -> None:
    person = make_signer(ca, bin_=None, iin=PARTY_BIN)
    assert check(ca, person.sign(DATA)) == "valid"


def test_a_changed_file_fails(ca: Identity) -> None:
    signature = make_signer(ca, bin_=PARTY_BIN).sign(DATA)
    assert check(ca, signature, DATA + b" ") == "invalid"
    assert check(ca, signature, b"%PDF-1.7 another document") == "invalid"


def test_someone_elses_certificate_is_the_wrong_signer(ca: Identity) -> None:
    other = make_signer(ca, bin_="960240000131", iin="900101400321")
    assert check(ca, other.sign(DATA)) == "wrong-signer"


def test_an_expired_certificate_is_refused(ca: Identity) -> None:
    assert check(ca, make_signer(ca, bin_=PARTY_BIN, expired=True).sign(DATA)) == "expired"


def test_a_certificate_from_another_authority_is_untrusted(ca: Identity) -> None:
    rogue = make_signer(make_ca("Rogue CA"), bin_=PARTY_BIN)
    assert check(ca, rogue.sign(DATA)) == "untrusted"
    # With no anchors at all, nothing is trusted.
    signer = make_signer(ca, bin_=PARTY_BIN)
    assert verify_detached(DATA, signer.sign(DATA), PARTY_BIN, []).status == "untrusted"


def test_a_key_not_meant_for_signing_is_refused(ca: Identity) -> None:
    assert check(ca, make_signer(ca, bin_=PARTY_BIN, can_sign=False).sign(DATA)) == "bad-key-usage"


def test_gost_is_reported_as_unsupported_not_accepted(ca: Identity) -> None:
    signature = cms.ContentInfo.load(make_signer(ca, bin_=PARTY_BIN).sign(DATA))
    signer_info = signature["content"]["signer_infos"][0]
    # GOST 34.310-2004, as Kazakh NCA tools write it.
    signer_info["signature_algorithm"] = {"algorithm": "1.2.398.3.10.1.1.1.2"}
    result = verify_detached(
        DATA, signature.dump(force=True), PARTY_BIN, load_trust_anchors(ca.pem())
    )
    assert result.status == "unsupported-algorithm"
    assert "GOST" in result.detail


def test_garbage_is_malformed_not_a_crash(ca: Identity) -> None:
    assert check(ca, b"not a signature") == "malformed"
    assert check(ca, b"") == "malformed"
    pem = b"-----BEGIN PKCS7-----\n" + b"QUJD\n" + b"-----END PKCS7-----\n"
    assert check(ca, pem) == "malformed"


def test_a_certificate_on_the_authoritys_crl_is_revoked(ca: Identity) -> None:
    revoked = make_signer(ca, bin_=PARTY_BIN)
    good = make_signer(ca, bin_=PARTY_BIN)
    crls = load_crls([make_crl(ca, [revoked.certificate])])
    anchors = load_trust_anchors(ca.pem())
    result = verify_detached(DATA, revoked.sign(DATA), PARTY_BIN, anchors, "off", crls)
    assert result.status == "revoked" and "local CRLs: 1" in result.revocation
    assert verify_detached(DATA, good.sign(DATA), PARTY_BIN, anchors, "off", crls).status == (
        "valid"
    )


def test_an_unreachable_revocation_service_is_reported_per_mode(ca: Identity) -> None:
    # The certificate names a CRL address nobody answers at (a closed loopback port).
    signature = make_signer(ca, bin_=PARTY_BIN).sign(DATA)
    anchors = load_trust_anchors(ca.pem())
    soft = verify_detached(DATA, signature, PARTY_BIN, anchors, "soft-fail")
    hard = verify_detached(DATA, signature, PARTY_BIN, anchors, "hard-fail")
    assert soft.status == "valid" and soft.revocation.startswith("soft-fail")
    assert hard.status == "revocation-unknown"
