#ifndef RECOVERY_CSODIUM_SHIM_H
#define RECOVERY_CSODIUM_SHIM_H
#include <sodium.h>
#endif
