// A tiny test runner: each test is a named action; a failure prints why and the run
// ends non-zero.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;

public static class Harness
{
    private static int passed, failed;

    public static void Run(string name, Action body)
    {
        try
        {
            body();
            passed++;
            Console.WriteLine("ok: " + name);
        }
        catch (Exception e)
        {
            failed++;
            Console.WriteLine("FAILED: " + name + ": " + (e is CheckException ? e.Message : e.ToString()));
        }
    }

    public static int Finish(string what)
    {
        Console.WriteLine(what + ": " + passed + " passed, " + failed + " failed");
        return failed == 0 ? 0 : 1;
    }

    public static void Check(bool condition, string what)
    {
        if (!condition) throw new CheckException(what);
    }

    public static void Equal<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            throw new CheckException(what + ": expected " + expected + ", got " + actual);
        }
    }

    public static void Throws<E>(Action body, string what) where E : Exception
    {
        try
        {
            body();
        }
        catch (E)
        {
            return;
        }
        throw new CheckException(what + ": no " + typeof(E).Name);
    }

    /// <summary>Waits for a condition another thread makes true.</summary>
    public static void WaitUntil(Func<bool> condition, string what, int timeoutMs = 60000)
    {
        Stopwatch clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.ElapsedMilliseconds > timeoutMs) throw new CheckException("timed out waiting for " + what);
            Thread.Sleep(2);
        }
    }

    private sealed class CheckException : Exception
    {
        public CheckException(string message) : base(message) { }
    }
}
