#ifndef RG_CRESOLV_SHIM_H
#define RG_CRESOLV_SHIM_H
// glibc's libresolv: query building and answer parsing for the DNS check (STYLE C1, C2).
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <resolv.h>

// res_mkquery is a macro alias for __res_mkquery, which Swift cannot see.
static inline int rg_res_mkquery(const char *name, int type, unsigned char *buf, int buflen) {
    return res_mkquery(ns_o_query, name, ns_c_in, type, NULL, 0, NULL, buf, buflen);
}
// ns_msg_count is a function-like macro.
static inline int rg_ns_msg_count(const ns_msg *msg, ns_sect section) {
    return ns_msg_count(*msg, section);
}
// ns_msg_id is a function-like macro.
static inline int rg_ns_msg_id(const ns_msg *msg) { return ns_msg_id(*msg); }
// ns_msg_base/ns_msg_end are function-like macros; dn_expand needs both bounds.
static inline const unsigned char *rg_ns_msg_base(const ns_msg *msg) { return ns_msg_base(*msg); }
static inline const unsigned char *rg_ns_msg_end(const ns_msg *msg) { return ns_msg_end(*msg); }
// ns_rr_type/ns_rr_rdata/ns_rr_rdlen are function-like macros.
static inline int rg_ns_rr_type(const ns_rr *rr) { return ns_rr_type(*rr); }
static inline const unsigned char *rg_ns_rr_rdata(const ns_rr *rr) { return ns_rr_rdata(*rr); }
static inline int rg_ns_rr_rdlen(const ns_rr *rr) { return ns_rr_rdlen(*rr); }
#endif
