# Install rules (issue 7): `cmake --install BUILD [--prefix P]` puts in place
#   P/bin/{scriptd,scriptctl,scriptc}
#   P/lib/systemd/system/scriptd.{service,socket}   (SCRIPTD_SYSTEMD_UNITDIR)
#   P/lib/sysusers.d/scriptd.conf, P/lib/tmpfiles.d/scriptd.conf
#   SYSCONFDIR/scriptd/scriptd.conf  (only if there is none: an operator's
#                                     edits survive an upgrade)
#   MANDIR/man1/{scriptctl,scriptc}.1, MANDIR/man8/scriptd.8
# GNUInstallDirs maps SYSCONFDIR to /etc for the prefix /usr, and to P/etc
# otherwise; the unit's ExecStart= names the installed binary and that file.
include(GNUInstallDirs)

set(SCRIPTD_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
	"systemd system units, relative to the prefix (or absolute)")
set(SCRIPTD_SYSUSERSDIR "lib/sysusers.d" CACHE STRING
	"sysusers.d snippets, relative to the prefix (or absolute)")
set(SCRIPTD_TMPFILESDIR "lib/tmpfiles.d" CACHE STRING
	"tmpfiles.d snippets, relative to the prefix (or absolute)")

install(TARGETS scriptd scriptctl scriptc_cmd
	RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The units in systemd/ name /usr/bin/scriptd and /etc/scriptd/, so that the
# files in the tree verify as they are; the installed copies name the real
# places. Rewritten at install time: the prefix may be given only then.
set(SCRIPTD_UNITS_IN ${PROJECT_SOURCE_DIR}/systemd)
set(SCRIPTD_UNITS_OUT ${PROJECT_BINARY_DIR}/systemd)
install(CODE "
	set(prefix \"\${CMAKE_INSTALL_PREFIX}\")
	if(prefix STREQUAL \"/usr\")
		set(etc \"/etc\")
	elseif(IS_ABSOLUTE \"${CMAKE_INSTALL_SYSCONFDIR}\")
		set(etc \"${CMAKE_INSTALL_SYSCONFDIR}\")
	else()
		set(etc \"\${prefix}/${CMAKE_INSTALL_SYSCONFDIR}\")
	endif()
	if(IS_ABSOLUTE \"${CMAKE_INSTALL_BINDIR}\")
		set(bin \"${CMAKE_INSTALL_BINDIR}\")
	else()
		set(bin \"\${prefix}/${CMAKE_INSTALL_BINDIR}\")
	endif()
	if(IS_ABSOLUTE \"${SCRIPTD_SYSTEMD_UNITDIR}\")
		set(unitdir \"${SCRIPTD_SYSTEMD_UNITDIR}\")
	else()
		set(unitdir \"\${prefix}/${SCRIPTD_SYSTEMD_UNITDIR}\")
	endif()
	file(MAKE_DIRECTORY \"${SCRIPTD_UNITS_OUT}\")
	foreach(u scriptd.service scriptd.socket)
		file(READ \"${SCRIPTD_UNITS_IN}/\${u}\" text)
		string(REPLACE \"/usr/bin/scriptd \" \"\${bin}/scriptd \" text
			\"\${text}\")
		string(REPLACE \"/etc/scriptd/\" \"\${etc}/scriptd/\" text
			\"\${text}\")
		file(WRITE \"${SCRIPTD_UNITS_OUT}/\${u}\" \"\${text}\")
		file(INSTALL \"${SCRIPTD_UNITS_OUT}/\${u}\"
			DESTINATION \"\${unitdir}\")
	endforeach()
	set(conf \"\$ENV{DESTDIR}\${etc}/scriptd/scriptd.conf\")
	if(EXISTS \"\${conf}\")
		message(STATUS \"Keeping: \${conf} (the default is \"
			\"${PROJECT_SOURCE_DIR}/systemd/scriptd.conf)\")
	else()
		file(INSTALL \"${PROJECT_SOURCE_DIR}/systemd/scriptd.conf\"
			DESTINATION \"\${etc}/scriptd\" PERMISSIONS OWNER_READ
			OWNER_WRITE GROUP_READ WORLD_READ)
	endif()
")

install(FILES systemd/scriptd.sysusers DESTINATION ${SCRIPTD_SYSUSERSDIR}
	RENAME scriptd.conf)
install(FILES systemd/scriptd.tmpfiles DESTINATION ${SCRIPTD_TMPFILESDIR}
	RENAME scriptd.conf)
install(FILES man/scriptctl.1 man/scriptc.1
	DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES man/scriptd.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
