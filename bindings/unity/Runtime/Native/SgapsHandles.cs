// SafeHandles for the two opaque C handles: the runtime frees them exactly once, even
// when an exception or the finalizer gets there first.
using System;
using Microsoft.Win32.SafeHandles;

namespace Sgaps
{
    internal sealed class EngineHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        public EngineHandle() : base(true) { }

        protected override bool ReleaseHandle()
        {
            Native.sgaps_engine_free(handle);
            return true;
        }
    }

    internal sealed class SessionHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        public SessionHandle() : base(true) { }

        // Ends the session if it is still running; the engine lives on until its last
        // session is freed, so sessions and engines may be disposed in any order.
        protected override bool ReleaseHandle()
        {
            Native.sgaps_session_free(handle);
            return true;
        }
    }
}
