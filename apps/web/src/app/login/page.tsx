import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { AuthForm } from "~/components/auth-form";
import { safeNextPath } from "~/lib/safe-next";
import { currentActor } from "~/server/session";

export const metadata: Metadata = { title: "Log in" };

export default async function LoginPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const next = safeNextPath((await searchParams).next);
  if (await currentActor()) redirect(next);
  return (
    <section className="card narrow stack">
      <h1>Log in</h1>
      <AuthForm mode="login" next={next} />
    </section>
  );
}
