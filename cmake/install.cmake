# Install rules (owned by the systemd/install work, issue 7).
install(TARGETS scriptd scriptctl scriptc_cmd RUNTIME DESTINATION bin)
