#ifndef REARGUARD_COSTREE_SHIM_H
#define REARGUARD_COSTREE_SHIM_H
// libostree's declarations only: the library itself is opened at run time (dlopen) by the commands that read a
// sysroot, so every other command starts without libostree's closure (GLib, GIO, libcurl, GnuTLS, libarchive,
// libxml2 and ICU on Debian): about 7 ms and 10 MB per start.
#include <ostree.h>
#include <dlfcn.h>

// Every libostree, GIO and GLib function the OSTree module calls.
#define RG_OSTREE_FUNCTIONS(X) \
    X(ostree_sysroot_new) X(ostree_sysroot_load) X(ostree_sysroot_get_deployments) \
    X(ostree_sysroot_get_booted_deployment) X(ostree_sysroot_get_repo) X(ostree_sysroot_try_lock) \
    X(ostree_sysroot_unlock) X(ostree_sysroot_write_deployments) X(ostree_repo_load_variant) \
    X(ostree_commit_get_timestamp) X(ostree_deployment_get_csum) X(ostree_deployment_get_origin) \
    X(ostree_deployment_unlocked_state_to_string) X(ostree_deployment_get_unlocked) X(ostree_deployment_get_index) \
    X(ostree_deployment_get_osname) X(ostree_deployment_get_deployserial) X(ostree_deployment_get_bootcsum) \
    X(ostree_deployment_is_pinned) X(ostree_deployment_is_staged) \
    X(g_file_new_for_path) X(g_object_ref) X(g_object_unref) X(g_error_free) X(g_quark_to_string) X(g_free) \
    X(g_ptr_array_unref) X(g_ptr_array_new_with_free_func) X(g_ptr_array_add) \
    X(g_variant_unref) X(g_variant_ref_sink) X(g_variant_get_child_value) X(g_variant_lookup_value) \
    X(g_variant_get_type_string) X(g_variant_get_string) X(g_variant_get_boolean) X(g_variant_new_from_bytes) \
    X(g_variant_type_new) X(g_variant_type_free) X(g_bytes_new) X(g_bytes_unref) \
    X(g_key_file_new) X(g_key_file_free) X(g_key_file_load_from_file) X(g_key_file_get_string)

// The functions as pointers with their own C types, so every call is type-checked as a direct call would be.
typedef struct rg_ostree_api {
#define RG_OSTREE_FIELD(name) __typeof__(name) *_Nonnull name;
    RG_OSTREE_FUNCTIONS(RG_OSTREE_FIELD)
#undef RG_OSTREE_FIELD
} rg_ostree_api;

// Opens `soname` and resolves every function once (call it from one thread, as Swift's lazy globals do). NULL with
// `problem` set to dlerror's text (`*missing` false) or to the name of the first function the library lacks.
static inline const rg_ostree_api *_Nullable rg_ostree_open(
    const char *_Nonnull soname, const char *_Nullable *_Nonnull problem, int *_Nonnull missing) {
    static rg_ostree_api api;
    *missing = 0;
    void *handle = dlopen(soname, RTLD_LAZY | RTLD_LOCAL);
    if (handle == NULL) { *problem = dlerror(); return NULL; }
#define RG_OSTREE_RESOLVE(name) \
    { void *p = dlsym(handle, #name); if (p == NULL) { *problem = #name; *missing = 1; return NULL; } \
      *(void **)&api.name = p; }
    RG_OSTREE_FUNCTIONS(RG_OSTREE_RESOLVE)
#undef RG_OSTREE_RESOLVE
    return &api;
}
#endif
