/* placeholder */ typedef int sc_placeholder_;
