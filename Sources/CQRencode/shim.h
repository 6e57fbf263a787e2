#ifndef RECOVERY_CQRENCODE_SHIM_H
#define RECOVERY_CQRENCODE_SHIM_H
#include <qrencode.h>
#endif
