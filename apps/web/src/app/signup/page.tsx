import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { AuthForm } from "~/components/auth-form";
import { currentActor } from "~/server/session";

export const metadata: Metadata = { title: "Sign up" };

export default async function SignupPage() {
  if (await currentActor()) redirect("/projects");
  return (
    <section className="card narrow stack">
      <h1>Create your account</h1>
      <p className="muted">Signing up creates your organization, with you as its first user.</p>
      <AuthForm mode="signup" />
    </section>
  );
}
