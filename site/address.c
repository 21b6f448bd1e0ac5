#include "site/address.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

static int is_ip_literal(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int label_is_valid(const char *label, size_t len)
{
    if (len == 0 || len > 63 || label[0] == '-' || label[len - 1] == '-')
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)label[i]) && label[i] != '-')
            return 0;
    return 1;
}

static int dns_name_is_valid(const char *host)
{
    size_t len = strlen(host);
    if (len == 0 || len > 253)
        return 0;
    for (const char *p = host;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!label_is_valid(p, n))
            return 0;
        if (dot == NULL)
            return 1;
        p = dot + 1;
    }
}

int site_host_is_valid(const char *host)
{
    return host != NULL && host[0] != '\0' && (is_ip_literal(host) || dns_name_is_valid(host));
}

/* The decimal port after the last ':', 1..65535, digits only. */
static long parse_port(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5)
        return -1;
    long port = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        port = port * 10 + (s[i] - '0');
    }
    return port >= 1 && port <= 65535 ? port : -1;
}

int site_listen_check(const char *option, const char *addr, char *host, size_t cap, ecl_err *err)
{
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    if (colon == NULL)
        return ecl_fail(err, ECL_E_USAGE, "%s '%s' is not host:port (e.g. 127.0.0.1:7443)", option,
                        addr ? addr : "");
    if (parse_port(colon + 1) < 0)
        return ecl_fail(err, ECL_E_USAGE, "%s '%s': the port must be a number from 1 to 65535",
                        option, addr);
    const char *start = addr;
    size_t n = (size_t)(colon - addr);
    int bracketed = n >= 2 && addr[0] == '[' && addr[n - 1] == ']';
    if (bracketed) {
        start++;
        n -= 2;
    }
    if (n == 0)
        return ecl_fail(err, ECL_E_USAGE, "%s '%s' has no host (e.g. 127.0.0.1:7443)", option,
                        addr);
    if (n >= cap)
        return ecl_fail(err, ECL_E_USAGE, "%s '%s': the host is too long", option, addr);
    memcpy(host, start, n);
    host[n] = '\0';
    unsigned char buf[16];
    if (bracketed && inet_pton(AF_INET6, host, buf) != 1)
        return ecl_fail(err, ECL_E_USAGE, "%s '%s': '%s' in brackets is not an IPv6 address",
                        option, addr, host);
    if (!bracketed && strchr(host, ':') != NULL)
        return ecl_fail(err, ECL_E_USAGE, "%s '%s': an IPv6 host goes in brackets, e.g. [::1]:7443",
                        option, addr);
    if (!site_host_is_valid(host))
        return ecl_fail(err, ECL_E_USAGE, "%s '%s': '%s' is neither a DNS name nor an IP address",
                        option, addr, host);
    return 0;
}
