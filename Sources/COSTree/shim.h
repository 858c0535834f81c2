#ifndef REARGUARD_COSTREE_SHIM_H
#define REARGUARD_COSTREE_SHIM_H
#include <ostree.h>
#endif
