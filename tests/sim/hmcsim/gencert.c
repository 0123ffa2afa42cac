/*  gencert — a self-signed certificate for the simulator, made with GnuTLS
    (libmicrohttpd's TLS library): ECDSA P-256, SHA-256, valid from an hour
    ago for ten years, subjectAltName localhost, 127.0.0.1 and ::1. It is
    its own CA (basicConstraints CA:TRUE), so clients verify the simulator
    by passing cert.pem as their CA file. */
#include "hmcsim.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_YEARS 10

//  Write data to path atomically with the given mode. 0 / -1 with a message.
static int s_write(const char *path, const gnutls_datum_t *data, mode_t mode, char *err,
                   size_t errlen)
{
    char tmp[HS_PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int) getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        goto fail;
    if (fchmod(fd, mode) != 0)
        goto fail;
    for (size_t done = 0; done < data->size;) {
        ssize_t n = write(fd, data->data + done, data->size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        done += (size_t) n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -1;
}

int hs_gencert(const char *dir, char *err, size_t errlen)
{
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t cert_pem = { NULL, 0 }, key_pem = { NULL, 0 };
    char cert_path[HS_PATH_MAX], key_path[HS_PATH_MAX];
    const char *step = "initialise GnuTLS";
    int rc = -1, grc;
    struct stat st;

    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a directory", dir);
        return -1;
    }
    if ((size_t) snprintf(cert_path, sizeof cert_path, "%s/cert.pem", dir) >= sizeof cert_path ||
        (size_t) snprintf(key_path, sizeof key_path, "%s/key.pem", dir) >= sizeof key_path) {
        snprintf(err, errlen, "%s: path too long", dir);
        return -1;
    }
    if ((grc = gnutls_global_init()) < 0)
        goto gnutls_fail;

    unsigned char serial[16];
    if (getrandom(serial, sizeof serial, 0) != (ssize_t) sizeof serial) {
        snprintf(err, errlen, "cannot read random bytes: %s", strerror(errno));
        goto done;
    }
    serial[0] &= 0x7f;                          // a positive serial number
    time_t now = time(NULL);
    static const unsigned char v4[4] = { 127, 0, 0, 1 };
    static const unsigned char v6[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
    unsigned char key_id[64];
    size_t key_id_size = sizeof key_id;

    step = "generate the key";
    if ((grc = gnutls_x509_privkey_init(&key)) < 0 ||
        (grc = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                            GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
                                            0)) < 0)
        goto gnutls_fail;
    step = "build the certificate";
    if ((grc = gnutls_x509_crt_init(&crt)) < 0 ||
        (grc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
        (grc = gnutls_x509_crt_set_serial(crt, serial, sizeof serial)) < 0 ||
        (grc = gnutls_x509_crt_set_activation_time(crt, now - 3600)) < 0 ||
        (grc = gnutls_x509_crt_set_expiration_time(
             crt, now + (time_t) S_YEARS * 365 * 24 * 3600)) < 0 ||
        (grc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0,
                                             "ferry hmcsim", 12)) < 0 ||
        (grc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "localhost",
                                             9)) < 0 ||
        (grc = gnutls_x509_crt_set_key(crt, key)) < 0 ||
        (grc = gnutls_x509_crt_set_basic_constraints(crt, 1, -1)) < 0 ||
        (grc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE |
                                                      GNUTLS_KEY_KEY_CERT_SIGN)) < 0 ||
        (grc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
        (grc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
                                                    GNUTLS_FSAN_APPEND)) < 0 ||
        (grc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v4, sizeof v4,
                                                    GNUTLS_FSAN_APPEND)) < 0 ||
        (grc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v6, sizeof v6,
                                                    GNUTLS_FSAN_APPEND)) < 0 ||
        (grc = gnutls_x509_crt_get_key_id(crt, 0, key_id, &key_id_size)) < 0 ||
        (grc = gnutls_x509_crt_set_subject_key_id(crt, key_id, key_id_size)) < 0)
        goto gnutls_fail;
    step = "sign the certificate";
    if ((grc = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0)
        goto gnutls_fail;
    step = "export PEM";
    if ((grc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cert_pem)) < 0 ||
        (grc = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL,
                                                 GNUTLS_PKCS_PLAIN, &key_pem)) < 0)
        goto gnutls_fail;
    if (s_write(key_path, &key_pem, 0600, err, errlen) != 0 ||
        s_write(cert_path, &cert_pem, 0644, err, errlen) != 0)
        goto done;
    rc = 0;
    goto done;
gnutls_fail:
    snprintf(err, errlen, "cannot %s: %s", step, gnutls_strerror(grc));
done:
    if (key_pem.data) {
        explicit_bzero(key_pem.data, key_pem.size);
        gnutls_free(key_pem.data);
    }
    gnutls_free(cert_pem.data);
    if (crt)
        gnutls_x509_crt_deinit(crt);
    if (key)
        gnutls_x509_privkey_deinit(key);
    gnutls_global_deinit();
    return rc;
}
