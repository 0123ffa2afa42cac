/*  keys — CURVE certificates (czmq zcert) and secret-file mode checks.
    Certificates are ZPL files: NAME holds the public key, NAME_secret both. */
#include "keys.h"

#include "config.h"
#include "names.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_KEY_TXT_LEN 40
//  zcert_save builds NAME_secret in a 256-byte buffer; longer names would be cut.
#define S_ZCERT_PATH_MAX 256

static void s_wipe(void *buf, size_t len)
{
    volatile unsigned char *p = buf;
    while (len--)
        *p++ = 0;
}

//  mkdir -p, new directories 0700 (keys live below them).
static int s_mkdir_p(const char *dir, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int) sizeof buf) {
        snprintf(err, errlen, "%s: path too long", dir);
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            goto fail;
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        goto fail;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a directory", dir);
        return -1;
    }
    return 0;
fail:
    snprintf(err, errlen, "cannot create directory %s: %s", buf, strerror(errno));
    return -1;
}

static int s_refuse_existing(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) == 0) {
        snprintf(err, errlen, "%s already exists: refusing to overwrite a key", path);
        return -1;
    }
    if (errno != ENOENT) {
        snprintf(err, errlen, "cannot check %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

//  Create the file empty with its final mode so the secret is never world-readable.
static int s_create(const char *path, mode_t mode, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EEXIST)
            snprintf(err, errlen, "%s already exists: refusing to overwrite a key", path);
        else
            snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

static int s_save(zcert_t *cert, const char *pub, const char *sec, char *err, size_t errlen)
{
    if (zcert_save_secret(cert, sec) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", sec, strerror(errno));
        return -1;
    }
    if (zcert_save_public(cert, pub) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", pub, strerror(errno));
        return -1;
    }
    if (chmod(sec, 0600) != 0 || chmod(pub, 0644) != 0) {
        snprintf(err, errlen, "cannot set the mode of %s: %s", pub, strerror(errno));
        return -1;
    }
    return 0;
}

int keys_generate(const char *dir, const char *name, char *err, size_t errlen)
{
    char pub[S_ZCERT_PATH_MAX], sec[S_ZCERT_PATH_MAX];
    zcert_t *cert = NULL;

    if (!dir || !*dir || !name_valid(NAME_SYSTEM, name)) {
        snprintf(err, errlen, "invalid key name \"%s\" (use letters, digits, _ . -)",
                 name ? name : "(null)");
        return -1;
    }
    if (!zsys_has_curve()) {
        snprintf(err, errlen, "libzmq was built without CURVE: cannot generate keys");
        return -1;
    }
    if (snprintf(sec, sizeof sec, "%s/%s_secret", dir, name) >= (int) sizeof sec) {
        snprintf(err, errlen, "%s/%s: path too long", dir, name);
        return -1;
    }
    snprintf(pub, sizeof pub, "%s/%s", dir, name);
    if (s_mkdir_p(dir, err, errlen) != 0 || s_refuse_existing(pub, err, errlen) != 0
        || s_refuse_existing(sec, err, errlen) != 0)
        return -1;
    if (s_create(sec, 0600, err, errlen) != 0)
        return -1;
    if (s_create(pub, 0644, err, errlen) != 0) {
        unlink(sec);
        return -1;
    }
    cert = zcert_new();
    if (!cert) {
        snprintf(err, errlen, "cannot create a CURVE key pair");
        goto fail;
    }
    if (s_save(cert, pub, sec, err, errlen) != 0)
        goto fail;
    zcert_destroy(&cert);
    return 0;
fail:
    zcert_destroy(&cert);
    unlink(sec);
    unlink(pub);
    return -1;
}

static const char *s_access_word(mode_t mode)
{
    if (mode & 044)
        return "readable";
    if (mode & 022)
        return "writable";
    return "accessible";
}

int keys_check_private(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (!path || stat(path, &st) != 0) {
        snprintf(err, errlen, "cannot read %s: %s", path ? path : "(null)",
                 path ? strerror(errno) : "no path");
        return -1;
    }
    bool is_dir = S_ISDIR(st.st_mode);
    if (!is_dir && !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file or directory", path);
        return -1;
    }
    if ((st.st_mode & 077) != 0) {
        snprintf(err, errlen, "%s is %s by group/others (mode %04o): chmod %s it", path,
                 s_access_word(st.st_mode), (unsigned) (st.st_mode & 07777),
                 is_dir ? "700" : "600");
        return -1;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, errlen, "%s is owned by uid %u, not by uid %u that runs ferry", path,
                 (unsigned) st.st_uid, (unsigned) geteuid());
        return -1;
    }
    return 0;
}

//  Decode a 40-character Z85 key from the certificate; -1 when absent or bad.
static int s_key(config_t *file, const char *key_path, uint8_t key[32])
{
    const char *text = config_str(file, key_path, NULL);
    if (!text || strlen(text) != S_KEY_TXT_LEN)
        return -1;
    return zmq_z85_decode(key, text) ? 0 : -1;
}

//  The secret key must produce the stored public key, else the file was edited.
static int s_pair_matches(config_t *file)
{
    char derived[S_KEY_TXT_LEN + 1];
    const char *public_txt = config_str(file, "curve/public-key", "");
    const char *secret_txt = config_str(file, "curve/secret-key", "");
    if (zmq_curve_public(derived, secret_txt) != 0)
        return errno == ENOTSUP ? 0 : -1;
    int rc = strcmp(derived, public_txt) == 0 ? 0 : -1;
    s_wipe(derived, sizeof derived);
    return rc;
}

//  Read the ZPL certificate through config (zconfig_load leaks on bad files).
static zcert_t *s_load(const char *path, bool want_secret, char *err, size_t errlen)
{
    uint8_t public_key[32] = {0}, secret_key[32] = {0};
    config_t *file = config_load(path, err, errlen);
    if (!file)
        return NULL;
    if (s_key(file, "curve/public-key", public_key) != 0) {
        snprintf(err, errlen, "%s has no valid curve/public-key", path);
        goto fail;
    }
    if (want_secret && s_key(file, "curve/secret-key", secret_key) != 0) {
        snprintf(err, errlen, "%s has no valid curve/secret-key (give the NAME_secret file)",
                 path);
        goto fail;
    }
    if (want_secret && s_pair_matches(file) != 0) {
        snprintf(err, errlen, "%s: the secret key does not match the public key", path);
        goto fail;
    }
    zcert_t *cert = zcert_new_from(public_key, secret_key);
    if (!cert) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    s_wipe(secret_key, sizeof secret_key);
    config_destroy(&file);
    return cert;
fail:
    s_wipe(secret_key, sizeof secret_key);
    config_destroy(&file);
    return NULL;
}

zcert_t *keys_load_secret(const char *path, char *err, size_t errlen)
{
    if (keys_check_private(path, err, errlen) != 0)
        return NULL;
    return s_load(path, true, err, errlen);
}

zcert_t *keys_load_public(const char *path, char *err, size_t errlen)
{
    return s_load(path, false, err, errlen);
}
