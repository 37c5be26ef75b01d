/* Error message formatting; see err.h for the contract of the codes. */
#include <stdarg.h>
#include <stdio.h>

#include "err.h"

int
sc_errorf(struct sc_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

const char *
sc_strerror(int code)
{
	switch (code) {
	case SC_OK:		return "ok";
	case SC_ENOMEM:		return "out of memory";
	case SC_ELIMIT:		return "limit exceeded";
	case SC_EBADMOD:	return "bad module";
	case SC_EPROTO:		return "protocol error";
	case SC_EIO:		return "I/O error";
	case SC_EINVAL:		return "invalid argument";
	case SC_ENOTFOUND:	return "not found";
	case SC_ERUNTIME:	return "runtime error";
	case SC_ECOMPILE:	return "compile error";
	case SC_ESTORE:		return "store error";
	case SC_EDENIED:	return "denied";
	case SC_ECANCELLED:	return "cancelled";
	case SC_ETIMEOUT:	return "timed out";
	}
	return "unknown error";
}
