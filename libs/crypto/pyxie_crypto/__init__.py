"""pyxie_crypto: JWE for end-to-end encrypted results, encryption at rest, a local CA."""

from pyxie_crypto._errors import (
    CertificateError,
    CryptoError,
    DecryptionError,
    InvalidKeyError,
    MalformedTokenError,
    UnsupportedAlgorithmError,
)
from pyxie_crypto.at_rest import AtRestCipher, DataKey
from pyxie_crypto.jwe import (
    JweEncryptor,
    decrypt_compact,
    encrypt_compact,
    generate_rsa_private_key,
    load_rsa_public_jwk,
    read_protected_header,
    rsa_public_jwk,
)
from pyxie_crypto.tls import (
    CertificateAuthority,
    ChannelTlsMaterial,
    IssuedCertificate,
    ServerTlsMaterial,
    ensure_local_ca,
)

__all__ = [
    "AtRestCipher",
    "CertificateAuthority",
    "CertificateError",
    "ChannelTlsMaterial",
    "CryptoError",
    "DataKey",
    "DecryptionError",
    "InvalidKeyError",
    "IssuedCertificate",
    "JweEncryptor",
    "MalformedTokenError",
    "ServerTlsMaterial",
    "UnsupportedAlgorithmError",
    "decrypt_compact",
    "encrypt_compact",
    "ensure_local_ca",
    "generate_rsa_private_key",
    "load_rsa_public_jwk",
    "read_protected_header",
    "rsa_public_jwk",
]
