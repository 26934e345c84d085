"use client";
/** The sign-up and log-in forms: plain forms posting to server actions, enhanced by React. */
import Link from "next/link";
import { useActionState, useEffect, useRef } from "react";
import { type AuthFormState, logIn, signUp } from "~/server/auth-actions";
import { describedBy, FieldError } from "./field-error";

export function AuthForm({ mode, next }: { mode: "login" | "signup"; next?: string }) {
  const [state, action, pending] = useActionState<AuthFormState, FormData>(
    mode === "login" ? logIn : signUp,
    { email: "" },
  );
  const emailRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);
  const error = state.error;

  // After a refusal, put the keyboard where the problem is.
  useEffect(() => {
    if (!error) return;
    (error.field === "email" ? emailRef : passwordRef).current?.focus();
  }, [error]);

  const emailError = error?.field === "email" ? error.message : undefined;
  const passwordError = error?.field === "password" ? error.message : undefined;
  return (
    <form action={action} className="stack">
      {error?.field === "form" && (
        <p id="auth-error" className="alert" role="alert">
          {error.message}
        </p>
      )}
      {next && <input type="hidden" name="next" value={next} />}
      <div className="field">
        <label htmlFor="email">Email</label>
        <input
          ref={emailRef}
          id="email"
          name="email"
          type="email"
          autoComplete={mode === "login" ? "username" : "email"}
          required
          defaultValue={state.email}
          aria-invalid={emailError ? true : undefined}
          aria-describedby={describedBy(emailError && "email-error")}
        />
        <FieldError id="email-error" message={emailError} />
      </div>
      <div className="field">
        <label htmlFor="password">Password</label>
        <input
          ref={passwordRef}
          id="password"
          name="password"
          type="password"
          autoComplete={mode === "login" ? "current-password" : "new-password"}
          required
          minLength={mode === "signup" ? 8 : undefined}
          aria-invalid={passwordError ? true : undefined}
          aria-describedby={describedBy(
            mode === "signup" && "password-hint",
            passwordError && "password-error",
          )}
        />
        {mode === "signup" && (
          <p id="password-hint" className="hint">
            At least 8 characters.
          </p>
        )}
        <FieldError id="password-error" message={passwordError} />
      </div>
      {mode === "signup" && (
        <div className="field">
          <label htmlFor="organization">
            Organization <span className="optional">(optional)</span>
          </label>
          <input
            id="organization"
            name="organization"
            type="text"
            autoComplete="organization"
            maxLength={200}
            defaultValue={state.organization}
            aria-describedby="organization-hint"
          />
          <p id="organization-hint" className="hint">
            Your projects belong to it. Defaults to your email.
          </p>
        </div>
      )}
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={pending}>
          {pending
            ? mode === "login"
              ? "Logging in…"
              : "Creating your account…"
            : mode === "login"
              ? "Log in"
              : "Sign up"}
        </button>
        {mode === "login" ? (
          <p>
            No account? <Link href="/signup">Sign up</Link>
          </p>
        ) : (
          <p>
            Have an account? <Link href="/login">Log in</Link>
          </p>
        )}
      </div>
    </form>
  );
}
