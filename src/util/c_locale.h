/* Private to src/util: the C locale as an object, for number conversions that must not follow
 * whatever setlocale() chose (uselocale(sp_c_locale()) around strtod/snprintf). */
#ifndef SATPROBE_C_LOCALE_H
#define SATPROBE_C_LOCALE_H

#include <locale.h>

locale_t sp_c_locale(void);

#endif
